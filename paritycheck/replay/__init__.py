"""Replay: send each exchange's request to both backends concurrently, at a bounded rate.

The engine pairs requests and schedules them; the transport (the lean HTTP/1.1 client of ``http1`` by
default, aiohttp's or httpx's as alternatives) turns responses into ``Reply`` at the edge. A request
carrying a ``stream`` (SSE or WebSocket) is replayed by ``streams``/``sse``/``websocket`` instead, as a
JSON record of its events.
"""

from __future__ import annotations

from paritycheck.replay.clients import make_transport
from paritycheck.replay.engine import Engine, schedule
from paritycheck.replay.http1 import Http1Transport
from paritycheck.replay.streams import STREAM_MEDIA, Limits, replay_stream
from paritycheck.replay.transport import (
    AiohttpTransport,
    HttpxTransport,
    Transport,
    aiohttp_reason,
    check_base_url,
    join_url,
)

__all__ = [
    "STREAM_MEDIA",
    "AiohttpTransport",
    "Engine",
    "Http1Transport",
    "HttpxTransport",
    "Limits",
    "Transport",
    "aiohttp_reason",
    "check_base_url",
    "join_url",
    "make_transport",
    "replay_stream",
    "schedule",
]
