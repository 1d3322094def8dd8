"""Which HTTP client sends a run's requests: the lean HTTP/1.1 one by default, or a library's."""

from __future__ import annotations

from paritycheck.errors import ConfigError
from paritycheck.replay.http1 import Http1Transport
from paritycheck.replay.transport import DEFAULT_MAX_BODY, Transport

__all__ = ["make_transport"]


def make_transport(kind: str = "http1", *, concurrency: int, max_body: int = DEFAULT_MAX_BODY) -> Transport:
    """The transport named ``kind`` (``http1``, ``aiohttp`` or ``httpx``) for ``concurrency`` in flight."""
    if kind == "http1":
        return Http1Transport(concurrency=concurrency, max_body=max_body)
    # The libraries load only when chosen: each costs a process more start-up than the whole run's setup.
    if kind == "aiohttp":
        from paritycheck.replay.aiohttp_client import AiohttpTransport

        return AiohttpTransport(concurrency=concurrency, max_body=max_body)
    if kind == "httpx":
        from paritycheck.replay.httpx_client import HttpxTransport

        return HttpxTransport(concurrency=concurrency, max_body=max_body)
    raise ConfigError(f"unknown transport {kind!r}", hint="use 'http1' (default), 'aiohttp' or 'httpx'")
