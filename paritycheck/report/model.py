"""The data the HTML, Markdown and JUnit writers share, built once from the store.

Everything is aggregated in SQL by the store (counts, difference groups), clustered into findings
(paritycheck.findings) or reduced here to bounded sizes (latency curves of :data:`CURVE_POINTS`
quantiles, at most ``max_examples`` example exchanges per difference group, bodies cut at
``body_limit`` bytes), so a report of 100,000 exchanges stays small.

Latency is shown as the gate sees it: an endpoint is *slower* only when it has the gate's
``min_samples`` pairs, its p95 ratio's bootstrap interval lies wholly above 1 (parity excluded), and
the point estimate is at least :data:`SLOWER_RATIO` and :data:`SLOWER_MS` above the legacy's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritycheck.compare import endpoint_method, risk
from paritycheck.config import GateConfig
from paritycheck.findings import Findings
from paritycheck.gate import (
    RunSummary,
    comparable_before,
    compare_p95,
    latency_summary,
    seed_for,
    summarise,
)
from paritycheck.report.model_contract import ContractSection, GateVerdict, contract_sections, gate_verdict
from paritycheck.report.model_examples import Body, Example, Side, load_examples, make_body, rules_for
from paritycheck.report.streams import StreamLatency, stream_latency
from paritycheck.rollout import Timeline, timeline
from paritycheck.store import RunInfo, Store

__all__ = [
    "CURVE_POINTS",
    "Body",
    "EndpointRow",
    "Example",
    "Group",
    "ReportModel",
    "Side",
    "build",
    "curve",
    "make_body",
    "rules_for",
    "unfinished_label",
    "unfinished_text",
]

#: Quantiles (0-1) at which each latency distribution is sampled for the CDF plots.
CURVE_POINTS = tuple(i / 64 for i in range(65))
#: A candidate p95 this many times the legacy p95 (and at least SLOWER_MS more) counts as slower.
SLOWER_RATIO = 1.2
SLOWER_MS = 5.0
DEFAULT_MAX_EXAMPLES = 5
DEFAULT_MAX_GROUPS = 200
DEFAULT_BODY_LIMIT = 16_384
#: The gate's defaults, for runs stored without a [gate] section.
_GATE = GateConfig()


@dataclass(frozen=True, slots=True)
class Group:
    """Identical (endpoint, kind, path) differences: count, first values and example exchanges."""

    endpoint: str
    kind: str
    path: str
    count: int
    legacy: Any
    candidate: Any
    examples: tuple[Example, ...] = ()
    #: The status or type pair that makes this group one finding (``200→201``); empty for other kinds.
    detail: str = ""
    #: Each side's wire path where normalisation renamed a key (:func:`paritycheck.compare.wire_paths`).
    wire: dict[str, str] = field(default_factory=dict)

    @property
    def risk(self) -> str:
        """accepts-refused, breaking, behavioural or additive (:mod:`paritycheck.compare.grade`)."""
        return risk(self.kind, self.path, self.detail, method=endpoint_method(self.endpoint))


@dataclass(frozen=True, slots=True)
class Reason:
    """Failed or skipped exchanges of one endpoint sharing a reason."""

    endpoint: str
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One endpoint: counts, parity, latency percentiles and the two latency curves."""

    endpoint: str
    total: int
    matched: int
    mismatched: int
    failed: int
    skipped: int
    parity: float | None
    legacy_ms: dict[str, float | None]
    candidate_ms: dict[str, float | None]
    samples: int
    legacy_curve: tuple[float, ...] = ()
    candidate_curve: tuple[float, ...] = ()
    #: Whether the gate would judge this endpoint's latency (at least ``min_samples`` pairs).
    judged: bool = False
    #: The p95 ratio's bootstrap interval, worked out when the point estimate looks slower.
    interval: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        """Candidate p95 over legacy p95."""
        return _ratio(self.legacy_ms.get("p95"), self.candidate_ms.get("p95"))

    @property
    def slower(self) -> bool:
        """The candidate's p95 is worse than the legacy one as the gate would see it: enough pairs, an
        interval that excludes parity, and a difference worth a look (:data:`SLOWER_RATIO`, ms)."""
        return (
            self.judged
            and self.interval is not None
            and self.interval[0] > 1.0
            and _slower(self.legacy_ms.get("p95"), self.candidate_ms.get("p95"))
        )

    @property
    def at_parity(self) -> bool:
        return self.mismatched == 0 and self.failed == 0


@dataclass(frozen=True, slots=True)
class Previous:
    """The comparable run before this one (same captures and rules, a baseline), for the up/down figures."""

    run_id: int
    started: str
    parity: float | None
    candidate_p95: float | None
    legacy_p95: float | None


@dataclass(frozen=True, slots=True)
class ReportModel:
    """Everything a report shows about one run."""

    run: RunInfo
    summary: RunSummary
    findings: Findings
    endpoints: tuple[EndpointRow, ...]
    groups: tuple[Group, ...]
    noise: tuple[Group, ...]
    failures: tuple[Reason, ...]
    skips: tuple[Reason, ...]
    previous: Previous | None
    legacy_ms: dict[str, float | None]
    candidate_ms: dict[str, float | None]
    max_examples: int
    max_groups: int
    body_limit: int
    #: The run's stored contract checks (latest per spec and mode, newest first); empty without any.
    contracts: tuple[ContractSection, ...] = ()
    #: The verdict ``paritycheck gate`` recorded with the run, if it was run on it.
    gate: GateVerdict | None = None
    #: Stream endpoints' time to first event and round trips (report/streams.py); empty without streams.
    streams: tuple[StreamLatency, ...] = ()
    #: The gate's ``min_samples`` for this run: endpoints with fewer pairs are not judged on latency.
    min_samples: int = 30
    #: The example exchanges of the findings' groups, by id (the first of each group at most).
    finding_examples: dict[int, Example] = field(default_factory=dict)
    #: The rollout recorded in the store (steps, windows, verdicts), drawn as a timeline; None without one.
    rollout: Timeline | None = None
    #: Why there is no ``previous`` run to compare with ("none in this database", "no comparable run: ...").
    previous_note: str = ""
    generated: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def parity(self) -> float | None:
        return self.summary.parity

    @property
    def replayed(self) -> int:
        return self.summary.matched + self.summary.mismatched + self.summary.failed

    @property
    def finished(self) -> bool:
        """Whether the run went through its whole capture: only then can it read "at parity"."""
        return self.run.status == "complete"

    @property
    def verdict(self) -> str:
        """``at parity``, ``not at parity``, ``nothing replayed``, or how the run ended when it did not
        finish (``interrupted``, ``crashed``, ``capture error``, ``running``, ``failed``)."""
        if not self.finished:
            return unfinished_label(self.run.status)
        if not self.replayed:
            return "nothing replayed"
        if self.summary.mismatched or self.summary.failed:
            return "not at parity"
        return "at parity"

    @property
    def groups_without_examples(self) -> int:
        return sum(1 for g in self.groups if not g.examples)

    @property
    def noise_paths(self) -> int:
        return len({g.path for g in self.noise})

    @property
    def slower_endpoints(self) -> tuple[EndpointRow, ...]:
        return tuple(e for e in self.endpoints if e.slower)


def build(
    store: Store,
    run_id: int | None = None,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    max_groups: int = DEFAULT_MAX_GROUPS,
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> ReportModel:
    """Read run ``run_id`` (default: the latest) from ``store`` into a :class:`ReportModel`.

    Only the ``max_groups`` most frequent difference groups get up to ``max_examples`` examples each.
    """
    if run_id is None:
        run_id = store.latest_run_id()
    run = store.run(run_id)
    latencies = store.latencies(run_id)
    summary = summarise(
        store, run_id, max_differences=None, examples=max(1, max_examples), latencies=latencies
    )
    assert summary.findings is not None
    min_samples, confidence = latency_limits(run.config)
    endpoints = tuple(
        _endpoint_row(e, latencies.get(e.endpoint, ((), ())), min_samples=min_samples, confidence=confidence)
        for e in summary.endpoints
    )
    all_legacy = [ms for pair in latencies.values() for ms in pair[0]]
    all_candidate = [ms for pair in latencies.values() for ms in pair[1]]
    stored_groups = store.difference_groups(run_id, examples=max(1, max_examples))
    wanted = (
        {i for g in stored_groups[:max_groups] for i in g.exchange_ids[:max_examples]}
        if max_examples
        else set()
    )
    # One example per group of the findings (their groups open onto it), for as many groups as above.
    members = summary.findings.members[:max_groups] if max_examples else ()
    wanted |= {m.examples[0] for m in members if m.examples}
    examples = load_examples(store, run_id, wanted, body_limit=body_limit, config=run.config)
    groups = tuple(
        Group(
            g.endpoint,
            g.kind,
            g.path,
            g.count,
            g.legacy,
            g.candidate,
            tuple(examples[i] for i in g.exchange_ids[:max_examples] if i in examples)
            if n < max_groups
            else (),
            g.detail,
            g.wire,
        )
        for n, g in enumerate(stored_groups)
    )
    noise = tuple(
        Group(g.endpoint, g.kind, g.path, g.count, g.legacy, g.candidate, (), g.detail)
        for g in store.difference_groups(run_id, noise=True, examples=1)
    )
    previous, previous_note = _previous(store, run_id)
    return ReportModel(
        run=run,
        summary=summary,
        findings=summary.findings,
        endpoints=endpoints,
        groups=groups,
        noise=noise,
        failures=_reasons(store, run_id, "failed"),
        skips=_reasons(store, run_id, "skipped"),
        previous=previous,
        previous_note=previous_note,
        legacy_ms=latency_summary(all_legacy),
        candidate_ms=latency_summary(all_candidate),
        max_examples=max_examples,
        max_groups=max_groups,
        body_limit=body_limit,
        contracts=contract_sections(store, run_id),
        gate=gate_verdict(run.meta),
        streams=stream_latency(store, run_id),
        min_samples=min_samples,
        finding_examples={
            m.examples[0]: examples[m.examples[0]]
            for m in members
            if m.examples and m.examples[0] in examples
        },
        rollout=timeline(store),
    )


def latency_limits(config: dict[str, Any]) -> tuple[int, float]:
    """The gate's ``min_samples`` and ``confidence`` as the run stored them (defaults otherwise)."""
    gate = config.get("gate") if isinstance(config, dict) else None
    gate = gate if isinstance(gate, dict) else {}
    samples, confidence = gate.get("min_samples"), gate.get("confidence")
    return (
        samples if isinstance(samples, int) and samples >= 1 else _GATE.min_samples,
        confidence if isinstance(confidence, float) and 0.5 <= confidence < 1 else _GATE.confidence,
    )


def _endpoint_row(
    e: Any, pair: tuple[Sequence[float], Sequence[float]], *, min_samples: int, confidence: float
) -> EndpointRow:
    legacy, candidate = pair
    judged = min(len(legacy), len(candidate)) >= min_samples
    interval = None
    if judged and _slower(e.legacy_ms.get("p95"), e.candidate_ms.get("p95")):
        # The gate's own statistics (docs/gate.md): only worth the ~20 ms where it could change the answer.
        ratio = compare_p95(legacy, candidate, confidence=confidence, seed=seed_for(e.endpoint))[2]
        interval = (ratio.low, ratio.high)
    return EndpointRow(
        endpoint=e.endpoint,
        total=e.total,
        matched=e.matched,
        mismatched=e.mismatched,
        failed=e.failed,
        skipped=e.skipped,
        parity=e.parity,
        legacy_ms=e.legacy_ms,
        candidate_ms=e.candidate_ms,
        samples=len(legacy),
        legacy_curve=curve(legacy),
        candidate_curve=curve(candidate),
        judged=judged,
        interval=interval,
    )


def curve(values: Iterable[float]) -> tuple[float, ...]:
    """The values at each of :data:`CURVE_POINTS` (nearest rank), for a CDF drawn from 65 points."""
    ordered = sorted(values)
    if not ordered:
        return ()
    last = len(ordered) - 1
    return tuple(ordered[round(q * last)] for q in CURVE_POINTS)


def _ratio(legacy: float | None, candidate: float | None) -> float | None:
    if legacy is None or candidate is None or legacy <= 0:
        return None
    return candidate / legacy


def _slower(legacy: float | None, candidate: float | None) -> bool:
    ratio = _ratio(legacy, candidate)
    return (
        ratio is not None
        and candidate is not None
        and legacy is not None
        and (ratio >= SLOWER_RATIO and candidate - legacy >= SLOWER_MS)
    )


def _previous(store: Store, run_id: int) -> tuple[Previous | None, str]:
    """The newest baseline of the same captures and rules before ``run_id``, or None and why not."""
    prev_id, why = comparable_before(store, run_id)
    if prev_id is None:
        return None, why
    prev = store.run(prev_id)
    latencies = store.latencies(prev_id)
    legacy = latency_summary([ms for pair in latencies.values() for ms in pair[0]])
    candidate = latency_summary([ms for pair in latencies.values() for ms in pair[1]])
    replayed = prev.matched + prev.mismatched + prev.failed
    return Previous(
        run_id=prev_id,
        started=prev.started,
        parity=prev.matched / replayed * 100.0 if replayed else None,
        candidate_p95=candidate["p95"],
        legacy_p95=legacy["p95"],
    ), ""


def _reasons(store: Store, run_id: int, outcome: str) -> tuple[Reason, ...]:
    return tuple(
        Reason(endpoint, reason or "(no reason recorded)", n)
        for endpoint, reason, n in store.reasons(run_id, outcome)
    )


def unfinished_label(status: str) -> str:
    """The headline of a run that did not finish: its status in words (``capture error``)."""
    return status.replace("_", " ")


def unfinished_text(status: str, total: int, replayed: int) -> str:
    """How much a run that did not finish did, for the reports' headlines."""
    why = {
        "interrupted": "stopped by Ctrl-C or SIGTERM",
        "crashed": "its process died (killed, out of memory or power lost)",
        "capture_error": "a capture could not be read to its end",
        "running": "still running, or its process was lost less than a minute ago",
        "waiting": "a sharded run: its other shards have not run yet",
        "failed": "stopped by an internal error",
        "unreachable": "a backend answered no exchange: is it running?",
    }.get(status, "did not finish")
    done = f"{total:,} entries done, {replayed:,} replayed"
    return f"run {unfinished_label(status)} ({why}): {done}; not judged"
