"""Counters of a live listener, kept twice: plain totals for /status and Prometheus metrics for /metrics.

Every request seen ends as exactly one of: shadowed (matched, mismatched, failed), skipped (write,
sample, rate, ...) or dropped (queue full, shutdown), so ``seen == shadowed + skipped + dropped``. A
malformed request (one aiohttp cannot parse) never becomes an exchange: it is counted apart.

Labels are bounded: endpoints (templates, as outcomes name them) and reasons keep their first
:data:`MAX_ENDPOINTS` / :data:`MAX_REASONS` values, and count later ones under ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from paritycheck.compare import redact
from paritycheck.models import Outcome, Status

#: Reasons that mark a skipped outcome as dropped (not a selection decision but lost capacity).
DROPPED_QUEUE = "dropped: shadow queue full (raise --queue)"
DROPPED_SHUTDOWN = "dropped: shut down before it was shadowed"
#: Past the hand-off's hard limit (live/handoff.py): not even a notice could be sent.
DROPPED_LOST = "dropped: shadow helper process behind or stopped"
DROPPED = (DROPPED_QUEUE, DROPPED_SHUTDOWN, DROPPED_LOST)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Distinct values one label takes at most; later ones are counted under :data:`OTHER`. Unbounded, 3,000
#: distinct paths made 3,019 series (640 KB a scrape, +28 MB in the helper), issue 23.
MAX_ENDPOINTS = 200
MAX_REASONS = 50
OTHER = "other"


_SHOWN: dict[str, str] = {}


def label(value: str) -> str:
    """What ``value`` (an endpoint template, a reason) shows as in a /metrics label or /status.

    The one place where request data becomes a label, so it is redacted here: a reason can quote a
    request's URL (a user name in an absolute-form target, issue 23). Remembered: values repeat.
    """
    shown = _SHOWN.get(value)
    if shown is None:
        if len(_SHOWN) >= 4096:
            _SHOWN.clear()
        shown = _SHOWN[value] = redact.text(value)
    return shown


class BoundedLabels:
    """The first ``limit`` distinct values of a label, and :data:`OTHER` for every later one."""

    __slots__ = ("limit", "seen")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = label(value)
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return OTHER
        self.seen.add(value)
        return value


@dataclass
class Totals:
    """Plain counts since the listener started."""

    seen: int = 0
    matched: int = 0
    mismatched: int = 0
    failed: int = 0
    skipped: int = 0
    dropped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    #: Client requests the listener refused before they became exchanges (malformed HTTP): not ``seen``.
    malformed: int = 0

    @property
    def shadowed(self) -> int:
        return self.matched + self.mismatched + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "shadowed": self.shadowed,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "failed": self.failed,
            "skipped": self.skipped,
            "dropped": self.dropped,
            "reasons": dict(self.reasons),
            "malformed": self.malformed,
        }


class Metrics:
    """Counts outcomes into :class:`Totals` and a private Prometheus registry (one per listener)."""

    def __init__(self) -> None:
        self.totals = Totals()
        self.registry = CollectorRegistry(auto_describe=True)
        self.exchanges = Counter(
            "paritycheck_live_exchanges",
            "Live requests seen, by endpoint and outcome (matched, mismatched, failed, skipped, dropped).",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.skipped = Counter(
            "paritycheck_live_skipped",
            "Requests not shadowed, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "paritycheck_live_dropped", "Requests dropped: queue full or shutdown.", registry=self.registry
        )
        self.malformed_requests = Counter(
            "paritycheck_live_malformed_requests",
            "Client requests refused before they became exchanges (malformed HTTP), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.endpoints = BoundedLabels(MAX_ENDPOINTS)
        self.reasons = BoundedLabels(MAX_REASONS)
        self.queue_depth = Gauge(
            "paritycheck_live_queue_depth", "Shadows waiting in the queue.", registry=self.registry
        )
        self.latency = Histogram(
            "paritycheck_live_latency_seconds",
            "Backend latency per side, send to last byte.",
            ["side"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def count(self, outcome: Outcome) -> None:
        t = self.totals
        t.seen += 1
        status = outcome.status
        kind = status.value
        if status is Status.MATCHED:
            t.matched += 1
        elif status is Status.MISMATCHED:
            t.mismatched += 1
        elif status is Status.FAILED:
            t.failed += 1
        else:
            reason = label(outcome.reason or "")
            t.reasons[reason] = t.reasons.get(reason, 0) + 1
            if reason in DROPPED:
                t.dropped += 1
                kind = "dropped"
                self.dropped.inc()
            else:
                t.skipped += 1
                self.skipped.labels(self.reasons(reason)).inc()
        self.exchanges.labels(self.endpoints(outcome.endpoint), kind).inc()
        for side, reply in (("legacy", outcome.legacy), ("candidate", outcome.candidate)):
            if reply is not None and reply.error is None:
                self.latency.labels(side).observe(reply.elapsed_ms / 1000)

    def malformed(self, reason: str) -> None:
        """Count a client request refused as malformed (it never became an exchange)."""
        self.totals.malformed += 1
        self.malformed_requests.labels(self.reasons(reason)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
