"""Rollback (and page) triggers: limits that fire at once, at any step, on evidence.

Each limit of ``[rollout.rollback]`` / ``[rollout.page]`` is judged on several samples: every shadow
window of the step on its own (so a candidate that starts failing mid-step is caught within one window,
not diluted by the hours before), the step so far, and the cohorts of the access logs (the step so far
and their most recent period). A rate fires only when its one-sided confidence bound at ``[gate]
confidence`` is past the limit (the Wilson bound for a rate, Newcombe's for the candidate's excess
over the legacy), and only on ``min_requests`` or more: 1 error in 3 requests is no evidence of 5%.
p95 limits fire when the step's pooled bootstrap interval (the gate's) lies wholly past them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from paritycheck.config_rollout import RolloutTriggers
from paritycheck.gate import GateResult
from paritycheck.rollout.stats import difference_lower, wilson
from paritycheck.rollout.verdict import Fired
from paritycheck.store import SideErrors

__all__ = ["Sample", "fire"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample a trigger is judged on: where it comes from, its comparisons and each side's errors."""

    where: str
    errors: SideErrors
    judged: int = 0
    matched: int = 0
    failed: int = 0


def _rates(t: RolloutTriggers, action: str, s: Sample, z: float) -> Iterable[Fired]:
    e, least = s.errors, t.min_requests
    if t.max_error_rate is not None and e.candidate_asked >= least:
        low, _ = wilson(e.candidate_errors, e.candidate_asked, z)
        rate = e.candidate_errors / e.candidate_asked
        if 100 * low > t.max_error_rate:
            yield Fired(action, "max_error_rate", s.where, 100 * rate, 100 * low, t.max_error_rate)
    if t.max_error_increase is not None and min(e.candidate_asked, e.legacy_asked) >= least:
        low = difference_lower(e.candidate_errors, e.candidate_asked, e.legacy_errors, e.legacy_asked, z)
        delta = e.candidate_errors / e.candidate_asked - e.legacy_errors / e.legacy_asked
        if 100 * low > t.max_error_increase:
            yield Fired(
                action, "max_error_increase", s.where, 100 * delta, 100 * low, t.max_error_increase, "pts"
            )
    if s.judged >= least and t.min_parity is not None:
        _, high = wilson(s.matched, s.judged, z)
        if 100 * high < t.min_parity:
            yield Fired(action, "min_parity", s.where, 100 * s.matched / s.judged, 100 * high, t.min_parity)
    if s.judged >= least and t.max_failed is not None:
        low, _ = wilson(s.failed, s.judged, z)
        if 100 * low > t.max_failed:
            yield Fired(action, "max_failed", s.where, 100 * s.failed / s.judged, 100 * low, t.max_failed)


def _latency(t: RolloutTriggers, action: str, gate: GateResult) -> Iterable[Fired]:
    limits = (("p95 ratio", t.max_p95_ratio, "max_p95_ratio", "×"), ("p95", t.max_p95_ms, "max_p95_ms", "ms"))
    for name, limit, key, unit in limits:
        if limit is None:
            continue
        for c in gate.criteria:
            if c.name == name and c.interval is not None and c.measured is not None and c.interval[0] > limit:
                where = f"the step so far ({c.endpoint})"
                yield Fired(action, key, where, float(c.measured), c.interval[0], limit, unit)


def fire(
    triggers: RolloutTriggers,
    action: str,
    samples: Sequence[Sample],
    *,
    gate: GateResult | None,
    z: float,
) -> tuple[Fired, ...]:
    """The limits of ``triggers`` that fire on any of ``samples`` (or on the step's latency), at most one
    per limit and sample."""
    if triggers.empty:
        return ()
    fired = [f for s in samples for f in _rates(triggers, action, s, z)]
    if gate is not None:
        fired += _latency(triggers, action, gate)
    return tuple(fired)
