"""Stream latency for the reports: time to first event and per-message round trip, per side.

Read from the stored stream records (docs/streams.md), so no schema change is needed; the endpoints
table and the gate already use the time to first event (a stream reply's ``elapsed_ms``), and this
table adds the round trips next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paritycheck.gate import latency_summary, stream_times
from paritycheck.store import Store

__all__ = ["StreamLatency", "stream_html", "stream_latency"]


@dataclass(frozen=True, slots=True)
class StreamLatency:
    """One stream endpoint's latency: p50/p95/p99 per side of the first event and of the round trips."""

    endpoint: str
    exchanges: int
    legacy_first: dict[str, float | None]
    candidate_first: dict[str, float | None]
    legacy_round_trip: dict[str, float | None]
    candidate_round_trip: dict[str, float | None]


def stream_latency(store: Store, run_id: int) -> tuple[StreamLatency, ...]:
    """Per stream endpoint of run ``run_id``, in endpoint order; empty for a run without streams."""
    return tuple(
        StreamLatency(endpoint, count, *(latency_summary(v) for v in lists))
        for endpoint, (count, *lists) in stream_times(store, run_id).items()
    )


def _ms(summary: dict[str, float | None]) -> str:
    def one(value: float | None) -> str:
        return "–" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.1f}")

    return f"{one(summary.get('p50'))} / {one(summary.get('p95'))}"


def stream_html(rows: Sequence[StreamLatency], esc: Any) -> str:
    """The HTML section (nothing for a run without streams)."""
    if not rows:
        return ""
    body = "".join(
        f"<tr><td class=mono>{esc(r.endpoint)}</td><td class=n>{r.exchanges}</td>"
        f"<td class=n>{_ms(r.legacy_first)}</td><td class=n>{_ms(r.candidate_first)}</td>"
        f"<td class=n>{_ms(r.legacy_round_trip)}</td><td class=n>{_ms(r.candidate_round_trip)}</td></tr>"
        for r in rows
    )
    names = ("exchanges", "legacy first event", "candidate first event", "legacy round trip",
             "candidate round trip")  # fmt: skip
    heads = '<th scope="col">endpoint</th>' + "".join(f'<th class="n" scope="col">{n}</th>' for n in names)
    return (
        '<section id="streams"><h2>Streams</h2><p class="note">SSE and WebSocket endpoints: time to the'
        " first event, and each client message's round trip (to the first server message after it),"
        " p50 / p95 in ms per side. The endpoints table shows the time to first event.</p>"
        f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></section>"
    )
