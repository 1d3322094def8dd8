"""The data the HTML, Markdown and JUnit writers share, built once from the store.

Everything is aggregated in SQL by the store (counts, difference groups) or reduced here to bounded
sizes (latency curves of :data:`CURVE_POINTS` quantiles, at most ``max_examples`` example exchanges
per difference group, bodies cut at ``body_limit`` bytes), so a report of 100,000 exchanges stays small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritycheck.common import jsonparse
from paritycheck.common.endpoints import pattern_matches
from paritycheck.compare import Rules, media_type, risk, stream_view
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.config import build as build_config
from paritycheck.errors import ConfigError
from paritycheck.gate import RunSummary, comparable_before, latency_summary, summarise
from paritycheck.models import STREAM_MEDIA, Difference, Headers, header
from paritycheck.report.model_contract import ContractSection, GateVerdict, contract_sections, gate_verdict
from paritycheck.report.streams import StreamLatency, stream_latency
from paritycheck.store import RunInfo, Store, StoredExchange, StoredReply

#: Quantiles (0-1) at which each latency distribution is sampled for the CDF plots.
CURVE_POINTS = tuple(i / 64 for i in range(65))
#: A candidate p95 this many times the legacy p95 (and at least SLOWER_MS more) counts as slower.
SLOWER_RATIO = 1.2
SLOWER_MS = 5.0
DEFAULT_MAX_EXAMPLES = 5
DEFAULT_MAX_GROUPS = 200
DEFAULT_BODY_LIMIT = 16_384


@dataclass(frozen=True, slots=True)
class Body:
    """A body as shown: decoded text (cut at the limit), its real size, and its JSON value if any."""

    text: str
    size: int
    cut: bool
    binary: bool
    content_type: str | None
    is_json: bool = False
    value: Any = None


@dataclass(frozen=True, slots=True)
class Side:
    """One backend's answer in an example exchange."""

    status: int | None
    ms: float | None
    headers: Headers
    body: Body | None
    error: str | None
    #: The body as it was compared (normalised by the run's rules); None when not JSON.
    normalised: Any = None
    has_normalised: bool = False


@dataclass(frozen=True, slots=True)
class Example:
    """One stored exchange, with its two answers, kept as an example of a difference group."""

    id: int
    seq: int
    source: str
    entry: int
    method: str
    url: str
    outcome: str
    reason: str | None
    request_headers: Headers
    request_body: Body | None
    legacy: Side | None
    candidate: Side | None
    differences: tuple[Difference, ...]


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
        return risk(self.kind, self.path, self.detail)


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

    @property
    def ratio(self) -> float | None:
        """Candidate p95 over legacy p95."""
        return _ratio(self.legacy_ms.get("p95"), self.candidate_ms.get("p95"))

    @property
    def slower(self) -> bool:
        """The candidate's p95 is clearly worse than the legacy one."""
        return _slower(self.legacy_ms.get("p95"), self.candidate_ms.get("p95"))

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
    summary = summarise(store, run_id, max_differences=None)
    latencies = store.latencies(run_id)
    endpoints = tuple(_endpoint_row(e, latencies.get(e.endpoint, ((), ()))) for e in summary.endpoints)
    all_legacy = [ms for pair in latencies.values() for ms in pair[0]]
    all_candidate = [ms for pair in latencies.values() for ms in pair[1]]
    stored_groups = store.difference_groups(run_id, examples=max(1, max_examples))
    wanted = (
        {i for g in stored_groups[:max_groups] for i in g.exchange_ids[:max_examples]}
        if max_examples
        else set()
    )
    examples = _examples(store, run_id, wanted, body_limit=body_limit, config=run.config)
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
    )


def _endpoint_row(e: Any, pair: tuple[Sequence[float], Sequence[float]]) -> EndpointRow:
    legacy, candidate = pair
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


def rules_for(config: dict[str, Any], endpoint: str) -> Rules | None:
    """The normalisation rules a run applied to ``endpoint``, rebuilt from its stored configuration."""
    try:
        cfg = build_config(NormaliseConfig, dict(config.get("normalise") or {}), prefix="normalise")
        extra = [
            rule
            for raw in config.get("endpoint") or ()
            if pattern_matches(
                (rule := build_config(EndpointRule, dict(raw), prefix="endpoint")).match, endpoint
            )
        ]
        return Rules.from_config(cfg, extra)
    except (ConfigError, ValueError, TypeError, AttributeError):
        return None  # a run stored by another version: show the parsed bodies instead


def _examples(
    store: Store, run_id: int, wanted: set[int], *, body_limit: int, config: dict[str, Any]
) -> dict[int, Example]:
    """Load the exchanges ``wanted`` (by id), scanning each endpoint's mismatched exchanges in order."""
    found: dict[int, Example] = {}
    if not wanted:
        return found
    bodies: dict[str, Body] = {}
    by_endpoint: dict[str, set[int]] = {}
    for endpoint, xid in store.db.execute(
        f"SELECT endpoint, id FROM exchanges WHERE id IN ({', '.join('?' * len(wanted))})", sorted(wanted)
    ).fetchall():
        by_endpoint.setdefault(endpoint, set()).add(xid)
    for endpoint, ids in by_endpoint.items():
        last = max(ids)
        rules = rules_for(config, endpoint)
        # Ids grow with arrival order, so the scan stops at the last example wanted.
        for x in store.exchanges(run_id, endpoint=endpoint, outcome="mismatched"):
            if x.id in ids:
                found[x.id] = _example(store, x, bodies, body_limit, rules)
            if x.id >= last:
                break
    return found


def _example(
    store: Store, x: StoredExchange, bodies: dict[str, Body], limit: int, rules: Rules | None
) -> Example:
    return Example(
        id=x.id,
        seq=x.seq,
        source=x.source,
        entry=x.entry,
        method=x.method,
        url=x.url,
        outcome=x.outcome.value,
        reason=x.reason,
        request_headers=x.request_headers,
        request_body=_body(store, x.request_body, header(x.request_headers, "content-type"), bodies, limit),
        legacy=_side(store, x.legacy, bodies, limit, rules),
        candidate=_side(store, x.candidate, bodies, limit, rules),
        differences=x.differences,
    )


def _side(
    store: Store, reply: StoredReply | None, bodies: dict[str, Body], limit: int, rules: Rules | None
) -> Side | None:
    if reply is None:
        return None
    ctype = header(reply.headers, "content-type")
    body = _body(store, reply.body, ctype, bodies, limit)
    normalised: Any = None
    has = False
    if body is not None and body.is_json:
        normalised, has = body.value, True
        if rules is not None:
            try:
                normalised = rules.apply(body.value)
            except (ValueError, TypeError, RecursionError):
                normalised = body.value
        if media_type(ctype) == STREAM_MEDIA and isinstance(body.value, dict):
            # A stream: its events as compared, so that $.events[i].data... paths mark the right lines.
            normalised = stream_view(body.value, rules.apply if rules is not None else lambda v: v)
    return Side(reply.status, reply.elapsed_ms, reply.headers, body, reply.error, normalised, has)


def _body(
    store: Store, digest: str | None, content_type: str | None, cache: dict[str, Body], limit: int
) -> Body | None:
    if digest is None:
        return None
    if digest in cache:
        return cache[digest]
    data = store.body(digest)
    cache[digest] = body = make_body(data, content_type, limit=limit)
    return body


def make_body(data: bytes, content_type: str | None, *, limit: int) -> Body:
    """Decode a body for display: JSON parsed when it is whole, text cut at ``limit`` bytes."""
    cut = len(data) > limit
    shown = data[:limit]
    try:
        text = shown.decode("utf-8")
        binary = False
    except UnicodeDecodeError as exc:
        # A cut may split a character: only a bad byte before the last 3 means binary.
        binary = not cut or exc.start < len(shown) - 3
        text = shown.decode("utf-8", errors="replace")
    if binary:
        printable = sum(1 for b in shown[:512] if b in b"\t\n\r" or 32 <= b < 127)
        binary = printable < 0.9 * min(len(shown), 512)
    if binary:
        return Body(text="", size=len(data), cut=cut, binary=True, content_type=content_type)
    if not cut:
        try:
            value = jsonparse.loads(data)
        except (ValueError, RecursionError):
            pass
        else:
            return Body(text, len(data), False, False, content_type, True, value)
    return Body(text, len(data), cut, False, content_type)


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
        "failed": "stopped by an internal error",
    }.get(status, "did not finish")
    done = f"{total:,} entries done, {replayed:,} replayed"
    return f"run {unfinished_label(status)} ({why}): {done}; not judged"
