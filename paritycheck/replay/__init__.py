"""Replay: send each exchange's request to both backends concurrently, at a bounded rate.

The engine pairs requests and schedules them; the transport (the lean HTTP/1.1 client of ``http1`` by
default, aiohttp's or httpx's as alternatives) turns responses into ``Reply`` at the edge. A request
carrying a ``stream`` (SSE or WebSocket) is replayed by ``streams``/``sse``/``websocket`` instead, as a
JSON record of its events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paritycheck.replay.clients import make_transport
from paritycheck.replay.engine import Engine, schedule
from paritycheck.replay.http1 import Http1Transport
from paritycheck.replay.streams import STREAM_MEDIA, Limits, replay_stream
from paritycheck.replay.transport import Transport, check_base_url, join_url

if TYPE_CHECKING:
    from paritycheck.replay.aiohttp_client import AiohttpTransport, aiohttp_reason
    from paritycheck.replay.httpx_client import HttpxTransport

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


def __getattr__(name: str) -> Any:
    """The library transports load on first use: importing aiohttp or httpx costs every process."""
    if name == "AiohttpTransport":
        from paritycheck.replay.aiohttp_client import AiohttpTransport

        return AiohttpTransport
    if name == "aiohttp_reason":
        from paritycheck.replay.aiohttp_client import aiohttp_reason

        return aiohttp_reason
    if name == "HttpxTransport":
        from paritycheck.replay.httpx_client import HttpxTransport

        return HttpxTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
