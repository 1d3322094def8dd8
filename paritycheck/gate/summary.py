"""Summary maths every report reads: counts, parity, latency percentiles and grouped differences.

A :class:`RunSummary` comes either from the database (:func:`summarise`) or incrementally from the
outcomes as they arrive (:class:`LiveSummary`); both give the same result for the same run. The
``--json`` shape of :meth:`RunSummary.to_json` is documented in ``docs/json-summary.md``.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritycheck.compare import detail, endpoint_method, redact, risk, shape, wire_paths
from paritycheck.findings import Findings, of_run
from paritycheck.models import Difference, Outcome, Status
from paritycheck.noise import NoisePath
from paritycheck.session import merge_meta
from paritycheck.store import RunInfo, Store, describe_shards, stored_value

QUANTILES = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))
#: Difference groups kept per endpoint in a summary; the rest are counted in ``differences_omitted``.
MAX_DIFFERENCES = 50


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly between closest ranks.

    The rank is ``(n - 1) * q / 100`` over the sorted values; a fractional rank interpolates between
    its two neighbours. This is numpy's default ("linear") and ``statistics.quantiles(...,
    method="inclusive")``; p0 is the minimum and p100 the maximum. Raises ValueError on no values.
    """
    return _percentiles(sorted(values), (q,))[0]


def _percentiles(ordered: Sequence[float], qs: Sequence[float]) -> list[float]:
    if not ordered:
        raise ValueError("percentile of no values")
    out = []
    for q in qs:
        if not 0.0 <= q <= 100.0 or math.isnan(q):
            raise ValueError(f"percentile must be between 0 and 100, not {q}")
        rank = (len(ordered) - 1) * q / 100.0
        low = math.floor(rank)
        high = min(low + 1, len(ordered) - 1)
        out.append(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))
    return out


def latency_summary(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of ``values`` in ms; None each when there are no values."""
    if not values:
        return {name: None for name, _ in QUANTILES}
    return dict(
        zip((n for n, _ in QUANTILES), _percentiles(sorted(values), [q for _, q in QUANTILES]), strict=True)
    )


def parity(matched: int, mismatched: int, failed: int) -> float | None:
    """matched / (matched + mismatched + failed) * 100; None when nothing was replayed."""
    replayed = matched + mismatched + failed
    return matched / replayed * 100.0 if replayed else None


@dataclass(frozen=True, slots=True)
class DiffGroup:
    """One finding of one endpoint: differences of one kind, shape and detail (status or type pair),
    with the first occurrence's values; ``path`` is the shape (array indexes as ``[*]``)."""

    kind: str
    path: str
    count: int
    legacy: Any
    candidate: Any
    detail: str = ""
    #: Each side's wire path where normalisation renamed a key (:func:`paritycheck.compare.wire_paths`).
    wire: dict[str, str] = field(default_factory=dict)
    #: The endpoint's method, which a status change's grade depends on (a write refused by a crash).
    method: str = ""

    @property
    def risk(self) -> str:
        """The risk grade: accepts-refused, server-error, breaking, behavioural or additive
        (docs/json-summary.md)."""
        return risk(self.kind, self.path, self.detail, method=self.method)


@dataclass(frozen=True, slots=True)
class EndpointSummary:
    """Counts, latency percentiles and grouped differences of one endpoint."""

    endpoint: str
    total: int
    matched: int
    mismatched: int
    failed: int
    skipped: int
    legacy_ms: dict[str, float | None]
    candidate_ms: dict[str, float | None]
    differences: list[DiffGroup] = field(default_factory=list)
    differences_omitted: int = 0
    #: Paths classed as noise on this endpoint (docs/noise.md); their differences are not counted.
    noise: list[NoisePath] = field(default_factory=list)

    @property
    def parity(self) -> float | None:
        """Percentage of replayed exchanges that matched (skipped ones excluded)."""
        return parity(self.matched, self.mismatched, self.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "total": self.total,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "failed": self.failed,
            "skipped": self.skipped,
            "parity": _round(self.parity),
            "legacy_ms": {k: _round(v) for k, v in self.legacy_ms.items()},
            "candidate_ms": {k: _round(v) for k, v in self.candidate_ms.items()},
            "differences": [
                {
                    "kind": d.kind,
                    "path": d.path,
                    "detail": d.detail,
                    "risk": d.risk,
                    "count": d.count,
                    "legacy": d.legacy,
                    "candidate": d.candidate,
                    **({"wire": d.wire} if d.wire else {}),
                }
                for d in self.differences
            ],
            "differences_omitted": self.differences_omitted,
            "noise": [n.to_json() for n in self.noise],
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The whole run: totals, per-endpoint summaries (sorted by endpoint) and what the run was."""

    run_id: int
    total: int
    matched: int
    mismatched: int
    failed: int
    skipped: int
    endpoints: list[EndpointSummary]
    started: str | None = None
    ended: str | None = None
    status: str | None = None
    backends: dict[str, str] = field(default_factory=dict)
    captures: list[dict[str, str]] = field(default_factory=list)
    tool_version: str | None = None
    #: Session-aware replay facts (writes per backend, correlations, logins, resets); None without it.
    sessions: dict[str, Any] | None = None
    #: Why exchanges failed or were skipped: (reason, count), most frequent first.
    failure_reasons: list[tuple[str, int]] = field(default_factory=list)
    skip_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: ``3 of 4 shards complete`` for a sharded run (replay --shard/--workers); None otherwise.
    shards: str | None = None
    #: The run's findings, riskiest first (paritycheck.findings); None when not worked out (a summary
    #: counted from outcomes alone, before anything was read back from the store).
    findings: Findings | None = None
    #: The capture hosts replayed and why, where the capture had several (``meta.hosts``); else None.
    hosts: dict[str, Any] | None = None

    @property
    def parity(self) -> float | None:
        """Percentage of replayed exchanges that matched (skipped ones excluded)."""
        return parity(self.matched, self.mismatched, self.failed)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` summary (docs/json-summary.md)."""
        found = self.findings
        return {
            "run_id": self.run_id,
            "total": self.total,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "failed": self.failed,
            "skipped": self.skipped,
            "parity": _round(self.parity),
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "tool_version": self.tool_version,
            "backends": dict(self.backends),
            "captures": [dict(c) for c in self.captures],
            "headline": None if found is None else found.headline(),
            "findings": None if found is None else [f.to_json() for f in found],
            "endpoints": [e.to_json() for e in self.endpoints],
            "sessions": self.sessions,
            "shards": self.shards,
            "hosts": self.hosts,
            "reasons": {
                "failed": [{"reason": r, "count": n} for r, n in self.failure_reasons],
                "skipped": [{"reason": r, "count": n} for r, n in self.skip_reasons],
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _build(
    run_id: int,
    counts: dict[str, dict[str, int]],
    latencies: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    groups: dict[str, list[DiffGroup]],
    run: RunInfo | None,
    max_differences: int | None,
    noise: Mapping[str, list[NoisePath]] | None = None,
    reasons: Mapping[str, Counter[str]] | None = None,
) -> RunSummary:
    """Assemble a RunSummary; groups must already be sorted most frequent first."""
    endpoints = []
    for endpoint in sorted(counts):
        c = counts[endpoint]
        legacy, candidate = latencies.get(endpoint, ((), ()))
        diffs = groups.get(endpoint, [])
        keep = diffs if max_differences is None else diffs[:max_differences]
        endpoints.append(
            EndpointSummary(
                endpoint=endpoint,
                total=sum(c.values()),
                matched=c.get(Status.MATCHED.value, 0),
                mismatched=c.get(Status.MISMATCHED.value, 0),
                failed=c.get(Status.FAILED.value, 0),
                skipped=c.get(Status.SKIPPED.value, 0),
                legacy_ms=latency_summary(legacy),
                candidate_ms=latency_summary(candidate),
                differences=keep,
                differences_omitted=len(diffs) - len(keep),
                noise=list((noise or {}).get(endpoint, ())),
            )
        )
    return RunSummary(
        run_id=run_id,
        total=sum(e.total for e in endpoints),
        matched=sum(e.matched for e in endpoints),
        mismatched=sum(e.mismatched for e in endpoints),
        failed=sum(e.failed for e in endpoints),
        skipped=sum(e.skipped for e in endpoints),
        endpoints=endpoints,
        started=run.started if run else None,
        ended=run.ended if run else None,
        status=run.status if run else None,
        backends=dict(run.backends) if run else {},
        captures=list(run.captures) if run else [],
        tool_version=run.tool_version if run else None,
        sessions=session_facts(run.meta) if run else None,
        failure_reasons=(reasons or {}).get("failed", Counter()).most_common(),
        skip_reasons=(reasons or {}).get("skipped", Counter()).most_common(),
        shards=describe_shards(run) if run else None,
        hosts=run.meta.get("hosts") if run else None,
    )


def session_facts(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """A run's ``sessions`` facts; a sharded run's are each shard's added up (``meta.shards.sessions``)."""
    shards = meta.get("shards")
    per_shard = shards.get("sessions") if isinstance(shards, dict) else None
    if isinstance(per_shard, dict) and per_shard:
        return merge_meta([per_shard[k] for k in sorted(per_shard, key=int)])
    sessions = meta.get("sessions")
    return sessions if isinstance(sessions, dict) else None


def summarise(
    store: Store,
    run_id: int,
    *,
    max_differences: int | None = MAX_DIFFERENCES,
    examples: int = 1,
    latencies: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> RunSummary:
    """Summarise stored run ``run_id`` with SQL aggregation, and cluster its findings (``examples``
    exchange ids kept per finding group). ``latencies`` are the run's as ``store.latencies`` reads
    them, when the caller has read them already."""
    run = store.run(run_id)
    groups: dict[str, list[DiffGroup]] = {}
    for g in store.difference_groups(run_id, examples=1):
        groups.setdefault(g.endpoint, []).append(
            DiffGroup(
                g.kind, g.path, g.count, g.legacy, g.candidate, g.detail, g.wire, endpoint_method(g.endpoint)
            )
        )
    noise: dict[str, list[NoisePath]] = {}
    for path in store.noise_paths(run_id):
        noise.setdefault(path.endpoint, []).append(path)
    reasons: dict[str, Counter[str]] = {}
    for outcome in (Status.FAILED.value, Status.SKIPPED.value):
        counter = reasons[outcome] = Counter()
        for _endpoint, reason, n in store.reasons(run_id, outcome):
            counter[reason or "(no reason recorded)"] += n
    if latencies is None:
        latencies = store.latencies(run_id)
    summary = _build(run_id, store.counts(run_id), latencies, groups, run, max_differences, noise, reasons)
    return dataclasses.replace(summary, findings=of_run(store, run_id, examples=examples))


class _Group:
    __slots__ = ("candidate", "count", "legacy", "wire")

    def __init__(self, d: Difference, found: redact.Found) -> None:
        self.count = 0
        # Kept exactly as the store would show it: redacted and through JSON.
        self.legacy = stored_value(d.path, d.legacy, found)
        self.candidate = stored_value(d.path, d.candidate, found)
        self.wire = wire_paths(d.kind, shape(d.path), d.legacy_path, d.candidate_path)


class LiveSummary:
    """A run summary built one outcome at a time, for progress lines and the end-of-run summary."""

    def __init__(self) -> None:
        #: The run being counted, once it is started in the store (None: no run started yet).
        self.run_id: int | None = None
        self.total = self.matched = self.mismatched = self.failed = self.skipped = 0
        self._counts: dict[str, dict[str, int]] = {}
        self._latencies: dict[str, tuple[array[float], array[float]]] = {}
        self._groups: dict[str, dict[tuple[str, str, str], _Group]] = {}
        self._reasons: dict[str, Counter[str]] = {
            Status.FAILED.value: Counter(),
            Status.SKIPPED.value: Counter(),
        }
        self._shown_reasons: dict[str, str] = {}

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        endpoint, status = outcome.endpoint, outcome.status
        self.total += 1
        if status is Status.MATCHED:
            self.matched += 1
        elif status is Status.MISMATCHED:
            self.mismatched += 1
        elif status is Status.FAILED:
            self.failed += 1
            self._reasons[status.value][self._reason(outcome.reason)] += 1
        else:
            self.skipped += 1
            self._reasons[status.value][self._reason(outcome.reason)] += 1
        counts = self._counts.get(endpoint)
        if counts is None:
            counts = self._counts[endpoint] = {}
        counts[status.value] = counts.get(status.value, 0) + 1
        legacy, candidate = outcome.legacy, outcome.candidate
        if legacy is not None and candidate is not None and legacy.error is None and candidate.error is None:
            pair = self._latencies.get(endpoint)
            if pair is None:
                pair = self._latencies[endpoint] = (array("d"), array("d"))
            pair[0].append(legacy.elapsed_ms)
            pair[1].append(candidate.elapsed_ms)
        if outcome.differences:
            groups = self._groups.setdefault(endpoint, {})
            found: redact.Found | None = None
            for d in outcome.differences:
                key = (d.kind, shape(d.path), detail(d))
                group = groups.get(key)
                if group is None:
                    if found is None:  # only for a group's first example: its values are shown
                        found = redact.request_secrets(outcome.exchange.request)
                    group = groups[key] = _Group(d, found)
                group.count += 1

    def _reason(self, reason: str | None) -> str:
        """A failure or skip reason as the store keeps it: redacted (it may quote a URL)."""
        if not reason:
            return "(no reason recorded)"
        shown = self._shown_reasons.get(reason)
        if shown is None:
            if len(self._shown_reasons) >= 4096:
                self._shown_reasons.clear()
            shown = self._shown_reasons[reason] = redact.text(reason)
        return shown

    @property
    def parity(self) -> float | None:
        return parity(self.matched, self.mismatched, self.failed)

    def endpoint_counts(self) -> dict[str, int]:
        """Exchanges counted so far per endpoint."""
        return {endpoint: sum(c.values()) for endpoint, c in self._counts.items()}

    def line(self) -> str:
        """A one-line progress report."""
        p = self.parity
        share = "" if p is None else f" (parity {p:.1f}%)"
        return (
            f"{self.total:,} exchanges: {self.matched:,} matched, {self.mismatched:,} mismatched,"
            f" {self.failed:,} failed, {self.skipped:,} skipped{share}"
        )

    def summary(
        self, *, run_id: int = 0, run: RunInfo | None = None, max_differences: int | None = MAX_DIFFERENCES
    ) -> RunSummary:
        """The RunSummary of everything added so far; ``run`` fills in the run's own details."""
        groups = {
            endpoint: [
                DiffGroup(
                    kind, path, g.count, g.legacy, g.candidate, found, g.wire, endpoint_method(endpoint)
                )
                for (kind, path, found), g in sorted(by_path.items(), key=lambda kv: (-kv[1].count, kv[0]))
            ]
            for endpoint, by_path in self._groups.items()
        }
        return _build(
            run.id if run else run_id,
            self._counts,
            self._latencies,
            groups,
            run,
            max_differences,
            reasons=self._reasons,
        )
