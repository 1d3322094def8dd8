"""The gate's judgement of findings (paritycheck.findings): which groups the accepted-differences file
covers, the exchanges left with accepted differences only, and one criterion per grade with a limit.

By default any finding where the candidate accepts what the legacy refused fails the run
(:data:`DEFAULT_MAX_FINDINGS`); ``[gate] max_findings`` sets the other grades' limits and
``max_breaking`` counts the findings graded breaking or worse. A finding whose every group is accepted
is not counted; over a period (several runs) a signature counts once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from paritycheck.compare import ACCEPTS_REFUSED, BREAKING, severity
from paritycheck.config import GateConfig
from paritycheck.findings import Finding, Findings, grade_label
from paritycheck.gate.accepted import KnownDifferences
from paritycheck.gate.verdict import FAIL, PASS, RUN, AcceptedGroup, Criterion

__all__ = ["DEFAULT_MAX_FINDINGS", "acceptances", "finding_limits", "finding_rows"]


def acceptances(
    found: Findings, known: KnownDifferences, today: dt.date, used: set[int] | None = None
) -> tuple[list[AcceptedGroup], dict[str, int], set[int]]:
    """Groups of the findings covered by the file (by group or by finding), per endpoint the mismatched
    exchanges whose every difference is accepted, and the indexes of the members accepted (unexpired).

    A group matches by its normalised path or as either side wrote it (``$.data.price``: what reports
    print). ``used`` gets the index of every entry that matches some group, whether or not another took it.
    """
    if not known.entries:
        return [], {}, set()
    shown: dict[tuple[str, str, str, int], AcceptedGroup] = {}
    active: set[int] = set()
    for i, m in enumerate(found.members):
        wire = tuple(m.wire.values())
        if used is not None:
            used.update(
                e.index
                for e in known.entries
                if e.matches(m.endpoint, m.kind, m.path, wire, finding=m.signature)
            )
        entry = known.match(m.endpoint, m.kind, m.path, today=today, wire=wire, finding=m.signature)
        if entry is None:
            continue
        expired = entry.expired(today)
        key = (m.endpoint, m.kind, m.path, entry.index)
        before = shown[key].count if key in shown else 0
        shown[key] = AcceptedGroup(m.endpoint, m.kind, m.path, before + m.count, entry, expired)
        if not expired:
            active.add(i)
    accepted: dict[str, int] = {}
    for endpoint, profile, n in found.profiles:
        if profile <= active:
            accepted[endpoint] = accepted.get(endpoint, 0) + n
    return list(shown.values()), accepted, active


#: Findings allowed per grade unless ``[gate] max_findings`` says otherwise.
DEFAULT_MAX_FINDINGS = {ACCEPTS_REFUSED: 0}
_FINDING_CRITERION = {ACCEPTS_REFUSED: "candidate accepts what legacy refused"}


def finding_limits(gate: GateConfig) -> dict[str, int]:
    """The judged grades and their limits: the defaults, then ``max_findings`` (-1 turns one off)."""
    limits = {**DEFAULT_MAX_FINDINGS, **gate.max_findings}
    return {g: n for g, n in sorted(limits.items(), key=lambda kv: severity(kv[0])) if n >= 0}


def _open(per_run: Sequence[tuple[Findings, set[int]]]) -> list[Finding]:
    """The findings not wholly accepted, once per signature over the runs (the first run's)."""
    out: dict[str, Finding] = {}
    for found, active in per_run:
        accepted: dict[str, bool] = {}
        for i, m in enumerate(found.members):
            accepted[m.signature] = accepted.get(m.signature, True) and i in active
        for f in found:
            if not accepted.get(f.signature, False) and f.signature not in out:
                out[f.signature] = f
    return sorted(out.values(), key=lambda f: (severity(f.grade), -f.exchanges, f.signature))


def _count_row(name: str, found: list[Finding], limit: int) -> Criterion:
    ok = len(found) <= limit
    note = "; ".join(f.title for f in found[:3]) + (f"; … {len(found) - 3} more" if len(found) > 3 else "")
    subject = (
        "" if ok or not found else found[0].subject + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
    )
    return Criterion(
        name,
        RUN,
        len(found),
        limit,
        None,
        ok,
        note or "none",
        state=PASS if ok else FAIL,
        op="<=",
        subject=subject,
    )


def finding_rows(per_run: Sequence[tuple[Findings, set[int]]], gate: GateConfig) -> list[Criterion]:
    """One row per judged grade (``max_findings``), and ``max_breaking`` over breaking or worse."""
    found = _open(per_run)
    rows = [
        _count_row(
            _FINDING_CRITERION.get(grade, f"{grade_label(grade)} findings"),
            [f for f in found if f.grade == grade],
            limit,
        )
        for grade, limit in finding_limits(gate).items()
    ]
    if gate.max_breaking >= 0:
        worse = [f for f in found if severity(f.grade) <= severity(BREAKING)]
        rows.append(_count_row("breaking findings", worse, gate.max_breaking))
    return rows
