"""Findings by grade, for a step's ``max_findings`` and ``max_new_findings`` criteria.

:func:`findings_of` is the one function that says which findings a step's runs hold and their grade.
A finding is a root cause of the findings stage, graded and keyed by its stable signature; findings
the accepted-differences file covers wholly are left out, as the gate leaves them out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from paritycheck.config_rollout import RolloutStep
from paritycheck.findings import of_run
from paritycheck.gate import FAIL, PASS, RUN, Criterion, KnownDifferences
from paritycheck.gate.finding_limits import acceptances, open_findings
from paritycheck.store import Store

__all__ = ["Finding", "findings_criteria", "findings_of"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: its stable signature, grade, a title in words and how many exchanges it holds."""

    signature: str
    grade: str
    title: str
    count: int


def findings_of(
    store: Store, run_ids: Sequence[int], *, known: KnownDifferences, today: dt.date
) -> list[Finding]:
    """The findings (root causes, paritycheck.findings) of runs ``run_ids``, once per signature, riskiest
    first; a finding whose every group is accepted (and unexpired) is left out, as the gate does."""
    per_run = []
    for run_id in run_ids:
        found = of_run(store, run_id, examples=0)
        per_run.append((found, acceptances(found, known, today)[2]))
    return [Finding(f.signature, f.grade, f.title, f.exchanges) for f in open_findings(per_run)]


def _row(name: str, findings: list[Finding], limit: int) -> Criterion:
    ok = len(findings) <= limit
    note = "; ".join(f.title for f in findings[:3])
    if len(findings) > 3:
        note += f"; and {len(findings) - 3} more"
    return Criterion(name, RUN, len(findings), limit, None, ok, note, state=PASS if ok else FAIL, op="<=")


def findings_criteria(
    step: RolloutStep, findings: list[Finding], *, earlier: set[str] | None
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
