"""Findings by grade, for a step's ``max_findings`` and ``max_new_findings`` criteria.

:func:`findings_of` is the one function that says which findings a step's runs hold and their grade.
Today a finding is a difference group (endpoint, kind, shape, status or type pair) graded by compare's
risk grades, accepted differences left out; when the findings stage (root causes across endpoints) is
in, this function reads its findings instead and the criteria below are unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from paritycheck.compare import GRADES
from paritycheck.config_rollout import RolloutStep
from paritycheck.gate import FAIL, PASS, RUN, Criterion, KnownDifferences
from paritycheck.store import Store

__all__ = ["Finding", "findings_criteria", "findings_of"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: its stable signature, grade, a title in words and how many differences it holds."""

    signature: tuple[str, str, str, str]
    grade: str
    title: str
    count: int


def findings_of(
    store: Store, run_ids: Sequence[int], *, known: KnownDifferences, today: dt.date
) -> list[Finding]:
    """The findings of runs ``run_ids`` (one per signature, counts added), accepted ones left out."""
    found: dict[tuple[str, str, str, str], Finding] = {}
    for run_id in run_ids:
        for g in store.difference_groups(run_id, examples=1):
            entry = known.match(g.endpoint, g.kind, g.path, today=today)
            if entry is not None and not entry.expired(today):
                continue
            key = (g.endpoint, g.kind, g.path, g.detail)
            prev = found.get(key)
            if prev is None:
                title = f"{g.kind} {g.path} {g.detail}".strip() + f" ({g.endpoint})"
                found[key] = Finding(key, g.risk, title, g.count)
            else:
                found[key] = Finding(key, prev.grade, prev.title, prev.count + g.count)
    return sorted(found.values(), key=lambda f: (GRADES.index(f.grade), -f.count, f.title))


def _row(name: str, findings: list[Finding], limit: int) -> Criterion:
    ok = len(findings) <= limit
    note = "; ".join(f.title for f in findings[:3])
    if len(findings) > 3:
        note += f"; and {len(findings) - 3} more"
    return Criterion(name, RUN, len(findings), limit, None, ok, note, state=PASS if ok else FAIL, op="<=")


def findings_criteria(
    step: RolloutStep, findings: list[Finding], *, earlier: set[tuple[str, str, str, str]] | None
) -> list[Criterion]:
    """One row per grade ``step.max_findings`` limits, and one for ``max_new_findings``.

    ``earlier`` holds the signatures found in the runs before the step began (None: not read).
    """
    rows = [
        _row(f"findings: {grade}", [f for f in findings if f.grade == grade], limit)
        for grade, limit in step.max_findings.items()
    ]
    if step.max_new_findings is not None:
        new = [f for f in findings if earlier is None or f.signature not in earlier]
        rows.append(_row("new findings", new, step.max_new_findings))
    return rows
