"""Runs over time: parity, failures and p95 ratios per run, and which findings are new, flaky or gone.

A finding is keyed by its signature (paritycheck.findings), stored with each run, so a root cause keeps
its key whichever endpoints it shows on. History compares like with like:
a run is compared only with earlier runs made under the **same effective rules** (a hash of the
``[normalise]``, ``[[endpoint]]``, ``[noise]`` and ``[streams]`` settings stored with each run), so a
difference that comes and goes because the rules changed is not "flaky"; the first run under new rules
says so. And only a **baseline** counts as "before": a complete run in which both backends answered
(a run where one answered nothing, an interrupted or crashed run is listed but never a baseline, so its
absent groups are never reported as "gone" next time).

Within one rule set, compared with the baseline before it, a run's finding is *new* when no earlier
baseline had it, *flaky* when it has come back after being absent, and a finding of the previous
baseline that is no longer there is *gone*. Figures are the stored ones: accepted differences count here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from paritycheck.findings import signatures_of
from paritycheck.gate.stats import p95
from paritycheck.store import RunInfo, Store, describe_shards

__all__ = ["GroupKey", "RunHistory", "baseline_before", "history", "is_baseline", "rules_hash"]

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


#: The configuration sections that decide what counts as a difference.
RULE_SECTIONS = ("normalise", "endpoint", "noise", "streams")


def rules_hash(config: dict[str, Any]) -> str:
    """A short hash of the effective comparison rules stored with a run."""
    rules = {name: config.get(name) for name in RULE_SECTIONS}
    return hashlib.sha256(json.dumps(rules, sort_keys=True, default=str).encode()).hexdigest()[:12]


def is_baseline(store: Store, run: RunInfo) -> bool:
    """Whether later runs may be compared with ``run``: it is ``complete`` and both backends answered.

    A run that stopped early or whose backend was down shows too few differences; taken as a baseline
    it would make the next run report them all as new or flaky and its own absent ones as gone.
    """
    return not _not_a_baseline(store, run)


def baseline_before(store: Store, run_id: int) -> int | None:
    """The newest baseline run before ``run_id`` (for the report's previous-run delta), if any."""
    for run in reversed(store.runs()):
        if run.id < run_id and is_baseline(store, run):
            return run.id
    return None


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
    """History of one rule set: what earlier baselines had."""

    seen: set[GroupKey] = field(default_factory=set)  # in any earlier baseline
    reappeared: set[GroupKey] = field(default_factory=set)  # came back at least once after being absent
    previous: set[GroupKey] = field(default_factory=set)
    last_run: int | None = None


def history(store: Store, *, min_samples: int = 30, limit: int | None = None) -> list[RunHistory]:
    """Every run oldest first (the last ``limit`` when given), with new, flaky and gone differences.

    New and flaky are always worked out over the whole history, so ``limit`` only shortens the list.
    """
    runs = store.runs()
    states: dict[str, _State] = {}
    last_rules: str | None = None
    first_index = 0 if limit is None else max(0, len(runs) - limit)
    out: list[RunHistory] = []
    stored = signatures_of(store, runs)
    titles: dict[str, tuple[str, str]] = {}
    for i, run in enumerate(runs):
        present = {f.signature for f in stored[run.id]}
        titles.update({f.signature: (f.grade, f.title) for f in stored[run.id]})
        rules = rules_hash(run.config if isinstance(run.config, dict) else {})
        state = states.setdefault(rules, _State())
        refusal = _not_a_baseline(store, run)
        note = refusal
        if not note and last_rules is not None and rules != last_rules:
            earlier = f" (like run {state.last_run})" if state.last_run is not None else ""
            note = (
                f"rules changed since the run before{earlier}: compared with runs under the same rules only"
            )
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
                    rules,
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
        last_rules = rules
    return out
