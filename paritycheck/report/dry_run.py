"""``replay --dry-run --json``: what would be sent, as one JSON document on stdout.

Streamed, one exchange per line inside the ``exchanges`` array, so memory stays flat however long the
capture; the counts come last because they are known only at the end. Targets are redacted exactly as
the store redacts URLs (:attr:`paritycheck.run.Planned.shown_target`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from paritycheck.errors import ExitStatus

if TYPE_CHECKING:
    from paritycheck.config import Config
    from paritycheck.run import Planned


def print_dry_run_json(plan: Iterable[Planned], config: Config, *, out: TextIO | None = None) -> int:
    """Write ``{"exchanges": [...], "counts": {...}, "backends": {...}}``; see docs/json-summary.md."""
    write = (out or sys.stdout).write
    sent = 0
    skipped: Counter[str] = Counter()
    write('{\n  "exchanges": [')
    first = True
    for item in plan:
        request = item.exchange.request
        if item.skip is None:
            sent += 1
        else:
            skipped[item.skip] += 1
        row = {
            "method": request.method,
            "target": item.shown_target,
            "endpoint": item.endpoint,
            "send": item.skip is None,
            "skip_reason": item.skip,
        }
        write(("\n    " if first else ",\n    ") + json.dumps(row, ensure_ascii=False))
        first = False
    counts = {
        "total": sent + sum(skipped.values()),
        "would_send": sent,
        "skipped": sum(skipped.values()),
        "skip_reasons": dict(skipped.most_common()),
    }
    backends = {
        "legacy": config.backends.legacy.url or None,
        "candidate": config.backends.candidate.url or None,
    }
    write(("\n  ],\n" if not first else "],\n") + f'  "counts": {json.dumps(counts, ensure_ascii=False)},\n')
    write(f'  "backends": {json.dumps(backends)}\n}}\n')
    (out or sys.stdout).flush()
    return ExitStatus.OK


__all__ = ["print_dry_run_json"]
