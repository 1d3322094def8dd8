"""Runs over time: parity, failures and p95 ratios per run, and which findings are new, flaky or gone.

A finding is keyed by its signature (paritycheck.findings), stored with each run, so a root cause keeps
its key whichever endpoints it shows on. History compares like with like: a run is compared only with
earlier runs of the **same traffic** (the captures' digests, in any order, and the ``[replay]``
selection; a live window, the windows of the same mode) made under the **same effective rules** (a hash
of the ``[normalise]``, ``[[endpoint]]``, ``[noise]`` and ``[streams]`` settings stored with each run),
so a finding that comes and goes because the captures or the rules changed is not "flaky"; the first run
of other captures or rules says so. The report's change "vs run N" is taken the same way, and says when
no comparable run exists. And only a **baseline** counts as "before": a complete run in which both
backends answered (a run where one answered nothing, an interrupted or crashed run is listed but never
a baseline, so its absent findings are never reported as "gone" next time).

Within one lineage (traffic and rules), compared with the baseline before it, a run's finding is *new*
when no earlier baseline had it, *flaky* when it has come back after being absent, and a finding of the
previous baseline that is no longer there is *gone*. Figures are the stored ones: accepted differences
count here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paritycheck.findings import signatures_of
from paritycheck.gate.lineage import Lineage, lineage, rules_hash
from paritycheck.gate.period import id_ranges
from paritycheck.gate.stats import p95
from paritycheck.store import RunInfo, Store, describe_shards

__all__ = [
    "GroupKey",
    "RunHistory",
    "alike_before",
    "baseline_before",
    "comparable_before",
    "history",
    "is_baseline",
    "rules_hash",
]

#: A finding's signature: what history keys on.
GroupKey = str


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
    #: How many findings the run has.
    groups: int
    new: tuple[GroupKey, ...]
    flaky: tuple[GroupKey, ...]
    gone: tuple[GroupKey, ...]
    #: The verdict ``paritycheck gate`` recorded for this run ("pass"/"fail"), if it was gated.
    gate: str | None = None
    #: Short hash of the effective rules the run was compared with.
    rules: str = ""
    #: Short hash of the traffic it replayed (captures and selection; a live window: its mode).
    traffic: str = ""
    #: Whether later runs compare with this one: complete, and both backends answered.
    baseline: bool = True
    #: Why it is not a baseline, or that the rules changed since the baseline before it.
    note: str = ""
    #: (grade, title) of each signature in new, flaky and gone, as last seen.
    titles: dict[str, tuple[str, str]] = field(default_factory=dict)

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
            return [
                {
                    "signature": s,
                    "risk": self.titles.get(s, ("", ""))[0],
                    "title": self.titles.get(s, ("", s))[1],
                }
                for s in groups
            ]

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
            "findings": self.groups,
            "new": keys(self.new),
            "flaky": keys(self.flaky),
            "gone": keys(self.gone),
            "gate": self.gate,
            "rules": self.rules,
            "captures": self.traffic,
            "baseline": self.baseline,
            "note": self.note,
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


def is_baseline(store: Store, run: RunInfo) -> bool:
    """Whether later runs may be compared with ``run``: it is ``complete`` and both backends answered.

    A run that stopped early or whose backend was down shows too few differences; taken as a baseline
    it would make the next run report them all as new or flaky and its own absent ones as gone.
    """
    return not _not_a_baseline(store, run)


def alike_before(store: Store, run_id: int) -> list[int]:
    """The runs before ``run_id`` of the same traffic and rules, whatever their status, newest first."""
    runs = store.runs()
    this = next((r for r in runs if r.id == run_id), None)
    if this is None:
        return []
    key = lineage(this)
    return [r.id for r in reversed(runs) if r.id < run_id and lineage(r) == key]


def baseline_before(store: Store, run_id: int) -> int | None:
    """The newest comparable baseline before ``run_id`` (see :func:`comparable_before`), if any."""
    return comparable_before(store, run_id)[0]


def comparable_before(store: Store, run_id: int) -> tuple[int | None, str]:
    """The newest baseline before ``run_id`` of the same traffic and rules, or None and why there is none.

    This is the run the reports' "vs run N" compares with: a run of other captures, or of the same ones
    under other rules, would show a change that says nothing about the candidate.
    """
    runs = store.runs()
    this = next((r for r in runs if r.id == run_id), None)
    earlier = [r for r in runs if r.id < run_id]
    if this is None or not earlier:
        return None, "none in this database"
    key = lineage(this)
    same = [r for r in earlier if lineage(r) == key]
    for run in reversed(same):
        if is_baseline(store, run):
            return run.id, ""
    if same:
        return None, (
            "no comparable run: the earlier runs of the same captures and rules"
            f" (run {id_ranges([r.id for r in same])}) did not finish, or a backend answered nothing"
        )
    traffic = sum(lineage(r).traffic != key.traffic for r in earlier)
    reasons = [f"{traffic} replayed other captures" if traffic else "", ""]
    if traffic < len(earlier):
        reasons[1] = f"{len(earlier) - traffic} compared them under other rules"
    return None, f"no comparable run: of {len(earlier)} earlier, " + " and ".join(r for r in reasons if r)


def _not_a_baseline(store: Store, run: RunInfo) -> str:
    """Why a run cannot be a baseline ("" when it can)."""
    if run.status != "complete":
        return f"not a baseline: the run is {run.status}"
    replayed, legacy, candidate = store.answered(run.id)
    if not replayed:
        return "not a baseline: nothing was replayed"
    if not legacy:
        return "not a baseline: the legacy backend answered nothing"
    if not candidate:
        return "not a baseline: the candidate backend answered nothing"
    return ""


@dataclass
class _State:
    """History of one lineage (traffic and rules): what its earlier baselines had."""

    seen: set[GroupKey] = field(default_factory=set)  # in any earlier baseline
    reappeared: set[GroupKey] = field(default_factory=set)  # came back at least once after being absent
    previous: set[GroupKey] = field(default_factory=set)
    last_run: int | None = None


def history(store: Store, *, min_samples: int = 30, limit: int | None = None) -> list[RunHistory]:
    """Every run oldest first (the last ``limit`` when given), with new, flaky and gone differences.

    New and flaky are always worked out over the whole history, so ``limit`` only shortens the list.
    """
    runs = store.runs()
    states: dict[Lineage, _State] = {}
    last: Lineage | None = None
    first_index = 0 if limit is None else max(0, len(runs) - limit)
    out: list[RunHistory] = []
    stored = signatures_of(store, runs)
    titles: dict[str, tuple[str, str]] = {}
    for i, run in enumerate(runs):
        present = {f.signature for f in stored[run.id]}
        titles.update({f.signature: (f.grade, f.title) for f in stored[run.id]})
        line = lineage(run)
        state = states.setdefault(line, _State())
        refusal = _not_a_baseline(store, run)
        note = refusal or _changed(line, last, state)
        back = {key for key in present - state.previous if key in state.seen}
        compared = state.last_run is not None and not refusal
        if i >= first_index:
            gate = run.meta.get("gate") if isinstance(run.meta, dict) else None
            new = tuple(sorted(present - state.seen)) if compared else ()
            flaky = tuple(sorted(present & (state.reappeared | back))) if compared else ()
            gone = tuple(sorted(state.previous - present)) if compared else ()
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
                    new,
                    flaky,
                    gone,
                    gate.get("verdict") if isinstance(gate, dict) else None,
                    line.rules,
                    line.traffic,
                    not refusal,
                    note,
                    {s: titles[s] for s in (*new, *flaky, *gone) if s in titles},
                )
            )
        if refusal:
            continue
        state.reappeared |= back
        state.seen |= present
        state.previous = present
        state.last_run = run.id
        last = line
    return out


def _changed(key: Lineage, last: Lineage | None, state: _State) -> str:
    """What changed since the baseline before, when its captures or rules were others ("" if none)."""
    if last is None or key == last:
        return ""
    what = "captures" if key.traffic != last.traffic else "rules"
    earlier = f" (like run {state.last_run})" if state.last_run is not None else ""
    same = "compared with runs of the same captures and rules only"
    return f"{what} changed since the run before{earlier}: {same}"
