"""Counters of a live listener, kept twice: plain totals for /status and Prometheus metrics for /metrics.

Every request seen ends as exactly one of: shadowed (matched, mismatched, failed), skipped (write,
sample, rate, ...) or dropped (queue full, shutdown), so ``seen == shadowed + skipped + dropped``.
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
        }


class Metrics:
    """Counts outcomes into :class:`Totals` and a private Prometheus registry (one per listener)."""

    def __init__(self) -> None:
        self.totals = Totals()
        self._reasons_shown: dict[str, str] = {}
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
        label = status.value
        if status is Status.MATCHED:
            t.matched += 1
        elif status is Status.MISMATCHED:
            t.mismatched += 1
        elif status is Status.FAILED:
            t.failed += 1
        else:
            reason = self._shown(outcome.reason or "")
            t.reasons[reason] = t.reasons.get(reason, 0) + 1
            if reason in DROPPED:
                t.dropped += 1
                label = "dropped"
                self.dropped.inc()
            else:
                t.skipped += 1
                self.skipped.labels(reason).inc()
        self.exchanges.labels(outcome.endpoint, label).inc()
        for side, reply in (("legacy", outcome.legacy), ("candidate", outcome.candidate)):
            if reply is not None and reply.error is None:
                self.latency.labels(side).observe(reply.elapsed_ms / 1000)

    def _shown(self, reason: str) -> str:
        """A reason as /status and /metrics may show it: redacted (a reason can quote a request)."""
        shown = self._reasons_shown.get(reason)
        if shown is None:
            if len(self._reasons_shown) >= 4096:
                self._reasons_shown.clear()
            shown = self._reasons_shown[reason] = redact.text(reason)
        return shown

    def render(self) -> bytes:
        return generate_latest(self.registry)
