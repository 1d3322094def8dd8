"""The coverage view of a generated run (``paritycheck explore``) in the HTML and Markdown reports.

Read from the run's ``meta.explore``: per operation, where it was exercised (the capture, capture and
generated, generated, never and why), the statuses seen before and those each side answered, so a
reader sees what the generated traffic reached and what it did not.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from paritycheck.report.explore import source_text
from paritycheck.report.html_exchange import esc


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{s}×{n}" for s, n in sorted(counts.items())) or "–"


def _source(c: dict[str, Any]) -> str:
    return source_text(str(c.get("source", "")), c.get("missing_statuses") or [], str(c.get("reason") or ""))


def _seen(c: dict[str, Any]) -> str:
    return ", ".join(map(str, c.get("seen_statuses") or [])) or "–"


def _caption(explore: dict[str, Any]) -> str:
    kinds = Counter(explore.get("kinds", []))
    made = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    return (
        f"Generated from {explore.get('spec', '?')}, seed {explore.get('seed', '?')}:"
        f" {sum(kinds.values())} requests ({made}), at most {explore.get('max_examples', '?')} per kind"
        " and operation."
    )


def explore_html(meta: dict[str, Any]) -> str:
    """``<section id="explore">``, or an empty string for a run that was not generated."""
    explore = meta.get("explore")
    if not isinstance(explore, dict):
        return ""
    rows = []
    for c in explore.get("coverage", []):
        cls = ' class="never"' if c.get("source") == "never" else ""
        rows.append(
            f"<tr{cls}><td><code>{esc(c.get('operation', ''))}</code></td><td>{esc(_source(c))}</td>"
            f"<td>{esc(_seen(c))}</td><td>{esc(_statuses(c.get('legacy_statuses', {})))}</td>"
            f"<td>{esc(_statuses(c.get('candidate_statuses', {})))}</td></tr>"
        )
    skipped = "".join(
        f"<li><code>{esc(op)}</code>: {esc(why)}</li>"
        for op, why in explore.get("skipped_operations", {}).items()
    )
    return (
        '<section id="explore"><h2>Generated requests</h2>'
        f"<p>{esc(_caption(explore))}</p>"
        '<div class="scroll"><table class="sortable"><thead><tr><th>operation</th><th>exercised by</th>'
        "<th>seen before</th><th>legacy statuses</th><th>candidate statuses</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + (f"<details><summary>not generated</summary><ul>{skipped}</ul></details>" if skipped else "")
        + "</section>"
    )


def explore_markdown(meta: dict[str, Any]) -> list[tuple[list[str], list[str]]]:
    """The Markdown section (heading lines, table rows) of a generated run; none for other runs."""
    explore = meta.get("explore")
    if not isinstance(explore, dict):
        return []
    rows = [
        f"| `{c.get('operation', '')}` | {_source(c)} | {_seen(c)}"
        f" | {_statuses(c.get('legacy_statuses', {}))} | {_statuses(c.get('candidate_statuses', {}))} |"
        for c in explore.get("coverage", [])
    ]
    head = [
        "### Generated requests",
        "",
        _caption(explore),
        "",
        "| operation | exercised by | seen before | legacy statuses | candidate statuses |",
        "|---|---|---|---|---|",
    ]
    return [(head, rows)]
