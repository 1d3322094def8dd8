"""Replay a stream (SSE or WebSocket) against one backend and describe what it sent as a ``Reply``.

A stream's reply body is a JSON *stream record* (media type :data:`STREAM_MEDIA`), so the store, the
reports and the noise learner handle it like any body, and ``compare`` aligns its events::

    {"stream": "sse" | "websocket" | "signalr", "events": [{"event": ..., "id": ..., "data": ...}],
     "close": {"code": 1000, "reason": ""} | null, "end": "captured count" | "max_events" | "idle"
     | "max_seconds" | "closed" | "refused" | "not a stream", "first_event_ms": 12.5,
     "round_trips_ms": [3.1, ...], "malformed_lines": 0}

``status`` is the handshake's (200 for SSE, 101 for an accepted WebSocket, 401 for a refused one) and
``elapsed_ms`` the time to the first event, which is what the latency tables and the gate read for a
stream (its total time is only the read limit). A transport failure, or one message over
``max_message_bytes``, is ``Reply.error`` as for requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from paritycheck.models import STREAM_MEDIA, Reply, Request
from paritycheck.replay.record import Limits, Record

__all__ = ["STREAM_MEDIA", "Limits", "Record", "replay_stream"]


async def replay_stream(
    base_url: str,
    request: Request,
    *,
    headers: Mapping[str, str],
    limits: Limits,
    timeout: float,  # noqa: ASYNC109 - the connect/handshake deadline; reading has its own limits
) -> Reply:
    """Open ``request.stream`` on one backend; never raises for what the backend does."""
    # A backend that accepts the connection and never answers must not hold the run: bound everything.
    bound = limits.max_seconds + 2 * timeout
    try:
        return await asyncio.wait_for(
            _replay(base_url, request, headers=headers, limits=limits, timeout=timeout), bound
        )
    except TimeoutError:
        return Reply(status=0, elapsed_ms=bound * 1000, error=f"no answer within {bound:g}s")


async def _replay(
    base_url: str,
    request: Request,
    *,
    headers: Mapping[str, str],
    limits: Limits,
    timeout: float,  # noqa: ASYNC109 - as replay_stream
) -> Reply:
    stream = request.stream
    assert stream is not None
    # The stream clients (aiohttp) load with the first stream: a capture of plain requests never pays.
    if stream.kind == "sse":
        from paritycheck.replay.sse import replay_sse

        return await replay_sse(base_url, request, headers=headers, limits=limits, timeout=timeout)
    from paritycheck.replay.websocket import replay_websocket

    return await replay_websocket(base_url, request, headers=headers, limits=limits, timeout=timeout)
