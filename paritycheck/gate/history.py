"""Runs over time: parity, failures and p95 ratios per run, and which differences are new or flaky.

A difference group is ``(endpoint, kind, path)``. Compared with the run before it, a run's group is
*new* when no earlier run had it, *flaky* when it has come back after being absent (present, then
absent, then present again, at any point so far), and a group of the previous run that is no longer
there is *gone*. Figures are the stored ones: accepted differences count as differences here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.gate.stats import p95
from paritycheck.store import Store, describe_shards

__all__ = ["GroupKey", "RunHistory", "history"]

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
        back = {key for key in present - previous if key in seen}
        reappeared |= back
        if i >= first_index:
            gate = run.meta.get("gate") if isinstance(run.meta, dict) else None
            out.append(
                RunHistory(
                    run.id,
                    run.started,
                    run.status
                    if run.status == "complete" or not (s := describe_shards(run))
                    else f"{run.status} ({s})",
                    run.total,
                    run.matched,
                    run.mismatched,
                    run.failed,
                    run.skipped,
                    _ratios(store, run.id, min_samples),
                    len(present),
                    tuple(sorted(present - seen)) if i > 0 else (),
                    tuple(sorted(present & reappeared)),
                    tuple(sorted(previous - present)),
                    gate.get("verdict") if isinstance(gate, dict) else None,
                )
            )
        seen |= present
        previous = present
    return out
