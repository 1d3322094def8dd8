"""Runs over time: parity, failures and p95 ratios per run, and which differences are new or flaky.

A difference group is ``(endpoint, kind, path)``. Compared with the run before it, a run's group is
*new* when no earlier run had it, *flaky* when it has come back after being absent (present, then
absent, then present again, at any point so far), and a group of the previous run that is no longer
there is *gone*. Figures are the stored ones: accepted differences count as differences here.

Only a *baseline* run moves that memory: a ``complete`` run in which both backends answered at least
one exchange. A run that did not finish (interrupted, crashed, capture error) or in which one backend
answered nothing saw only part of the differences, or none: it is listed with its new groups, but it
reports nothing gone or flaky, and the runs after it are compared with the baseline before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.gate.stats import p95
from paritycheck.store import RunInfo, Store

__all__ = ["GroupKey", "RunHistory", "baseline_before", "history", "is_baseline"]

GroupKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class RunHistory:
    """One run as ``paritycheck history`` lists it."""

    run_id: int
    started: str
    status: str
    total: int
    matched: int
    mismatched: int
    failed: int
    skipped: int
    #: Candidate/legacy p95 per endpoint with at least ``min_samples`` latency pairs.
    p95_ratios: dict[str, float]
    groups: int
    new: tuple[GroupKey, ...]
    flaky: tuple[GroupKey, ...]
    gone: tuple[GroupKey, ...]
    #: The verdict ``paritycheck gate`` recorded for this run ("pass"/"fail"), if it was gated.
    gate: str | None = None
    #: Whether later runs are compared with this one (see the module docstring).
    baseline: bool = True

    @property
    def parity(self) -> float | None:
        judged = self.matched + self.mismatched + self.failed
        return self.matched / judged * 100.0 if judged else None

    @property
    def failed_pct(self) -> float | None:
        judged = self.matched + self.mismatched + self.failed
        return self.failed / judged * 100.0 if judged else None

    @property
    def worst_p95_ratio(self) -> tuple[str, float] | None:
        """The endpoint with the highest p95 ratio, and that ratio."""
        if not self.p95_ratios:
            return None
        endpoint = max(self.p95_ratios, key=lambda e: (self.p95_ratios[e], e))
        return endpoint, self.p95_ratios[endpoint]

    def to_json(self) -> dict[str, Any]:
        def keys(groups: tuple[GroupKey, ...]) -> list[dict[str, str]]:
            return [{"endpoint": e, "kind": k, "path": p} for e, k, p in groups]

        return {
            "run_id": self.run_id,
            "started": self.started,
            "status": self.status,
            "total": self.total,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "failed": self.failed,
            "skipped": self.skipped,
            "parity": _round(self.parity),
            "failed_pct": _round(self.failed_pct),
            "p95_ratios": {e: round(r, 4) for e, r in sorted(self.p95_ratios.items())},
            "difference_groups": self.groups,
            "new": keys(self.new),
            "flaky": keys(self.flaky),
            "gone": keys(self.gone),
            "gate": self.gate,
            "baseline": self.baseline,
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _ratios(store: Store, run_id: int, min_samples: int) -> dict[str, float]:
    out = {}
    for endpoint, (legacy, candidate) in store.latencies(run_id).items():
        if min(len(legacy), len(candidate)) >= min_samples:
            base = p95(legacy)
            out[endpoint] = p95(candidate) / base if base > 0 else float("inf")
    return out


def history(store: Store, *, min_samples: int = 30, limit: int | None = None) -> list[RunHistory]:
    """Every run oldest first (the last ``limit`` when given), with new, flaky and gone differences.

    New and flaky are always worked out over the whole history, so ``limit`` only shortens the list.
    """
    runs = store.runs()
    seen: set[GroupKey] = set()  # in any earlier run
    reappeared: set[GroupKey] = set()  # came back at least once after being absent
    previous: set[GroupKey] = set()
    first_index = 0 if limit is None else max(0, len(runs) - limit)
    out: list[RunHistory] = []
    for i, run in enumerate(runs):
        present = {(g.endpoint, g.kind, g.path) for g in store.difference_groups(run.id, examples=1)}
        baseline = is_baseline(store, run)
        back = {key for key in present - previous if key in seen}
        if baseline:
            reappeared |= back
        if i >= first_index:
            gate = run.meta.get("gate") if isinstance(run.meta, dict) else None
            out.append(
                RunHistory(
                    run.id,
                    run.started,
                    run.status,
                    run.total,
                    run.matched,
                    run.mismatched,
                    run.failed,
                    run.skipped,
                    _ratios(store, run.id, min_samples),
                    len(present),
                    tuple(sorted(present - seen)) if i > 0 else (),
                    tuple(sorted(present & reappeared)) if baseline else (),
                    tuple(sorted(previous - present)) if baseline else (),
                    gate.get("verdict") if isinstance(gate, dict) else None,
                    baseline,
                )
            )
        if baseline:
            seen |= present
            previous = present
    return out


def is_baseline(store: Store, run: RunInfo) -> bool:
    """Whether later runs may be compared with ``run``: it is ``complete`` and both backends answered.

    A run that stopped early or whose backend was down shows too few differences; taken as a baseline
    it would make the next run report them all as new or flaky and its own absent ones as gone.
    """
    if run.status != "complete":
        return False
    replayed, legacy, candidate = store.answered(run.id)
    return replayed > 0 and legacy > 0 and candidate > 0


def baseline_before(store: Store, run_id: int) -> int | None:
    """The newest baseline run before ``run_id`` (for the report's previous-run delta), if any."""
    for run in reversed(store.runs()):
        if run.id < run_id and is_baseline(store, run):
            return run.id
    return None
