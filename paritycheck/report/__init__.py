"""Report writers: terminal, HTML, Markdown, JUnit. Each reads a summary; none replays or diffs.

The shared model (:mod:`paritycheck.report.model`) is built once from the store and rendered by each
writer; ``gate_terminal`` prints the gate's verdict and the run history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.report.gate_terminal import gate_markdown, print_gate, print_history
    from paritycheck.report.html import render_html, write_html, write_reports
    from paritycheck.report.junit import render_junit
    from paritycheck.report.markdown import render_markdown
    from paritycheck.report.rollout_terminal import print_rollout, print_step_started

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "gate_markdown": "gate_terminal",
        "print_gate": "gate_terminal",
        "print_history": "gate_terminal",
        "render_html": "html",
        "write_html": "html",
        "write_reports": "html",
        "render_junit": "junit",
        "render_markdown": "markdown",
        "print_rollout": "rollout_terminal",
        "print_step_started": "rollout_terminal",
    },
)

__all__ = [
    "gate_markdown",
    "print_gate",
    "print_history",
    "print_rollout",
    "print_step_started",
    "render_html",
    "render_junit",
    "render_markdown",
    "write_html",
    "write_reports",
]
