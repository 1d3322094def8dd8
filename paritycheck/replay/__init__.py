"""Replay: send each exchange's request to both backends concurrently, at a bounded rate.

The engine pairs requests and schedules them; the transport (aiohttp by default, httpx as an
alternative) turns library responses into ``Reply`` at the edge.
"""

from __future__ import annotations

from paritycheck.replay.engine import Engine, schedule
from paritycheck.replay.transport import (
    AiohttpTransport,
    HttpxTransport,
    Transport,
    check_base_url,
    join_url,
    make_transport,
)

__all__ = [
    "AiohttpTransport",
    "Engine",
    "HttpxTransport",
    "Transport",
    "check_base_url",
    "join_url",
    "make_transport",
    "schedule",
]
