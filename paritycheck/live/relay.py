"""What the proxy relays: the client gets what the legacy sent, and the legacy what the client sent.

aiohttp, on each side of the proxy, adds what a server or a client of its own would send: ``Date``,
``Server: Python/... aiohttp/...`` and ``Content-Type: application/octet-stream`` on an answer; ``Accept:
*/*`` and, on a body-less POST, ``Content-Length: 0`` on a request; and it chunks a streamed body by
its reads, not by the sender's chunks. A legacy that answers a POST without a length ``411`` would
never see one through the proxy, and a client would see headers the legacy never sent (issue 23).
Here each side says only what the other side said; the exceptions, each needed to relay at all, are
listed in docs/live-modes.md#what-the-proxy-changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import hdrs, web

__all__ = ["AsSentRequest", "RelayedResponse", "chunks"]

#: The headers aiohttp's server adds to an answer on its own (only when the answer lacks them).
_SERVER_ADDED = (hdrs.DATE, hdrs.SERVER, hdrs.CONTENT_TYPE)
#: A sender's chunk is relayed as one chunk up to this size; a larger one is relayed in pieces as it
#: arrives, so that memory stays bounded (chunk boundaries carry no meaning in HTTP, RFC 9112 7.1).
CHUNK_BOUND = 1 << 20


class RelayedResponse(web.StreamResponse):
    """An answer whose headers are the legacy's: none that aiohttp's server adds on its own.

    Framing (``Transfer-Encoding``, ``Connection``) is the client connection's, as aiohttp sets it.
    """

    def __init__(self, *, status: int, reason: str | None, sent: frozenset[str]) -> None:
        super().__init__(status=status, reason=reason)
        self._sent = sent  # lower-case names the legacy sent

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        for name in _SERVER_ADDED:
            if name.lower() not in self._sent:
                self.headers.popall(name, None)


class AsSentRequest(aiohttp.ClientRequest):
    """A forwarded request without the ``Content-Length: 0`` aiohttp gives a body-less POST."""

    def update_body_from_data(self, body: Any, _stacklevel: int = 3) -> None:
        added = body is None and hdrs.CONTENT_LENGTH not in self.headers
        super().update_body_from_data(body, _stacklevel=_stacklevel + 1)
        if added:
            self.headers.popall(hdrs.CONTENT_LENGTH, None)


async def chunks(
    stream: aiohttp.StreamReader, *, chunked: bool, idle: float | None = None
) -> AsyncIterator[bytes]:
    """The body of ``stream`` in the pieces to relay: the sender's own chunks when it ``chunked``
    (up to :data:`CHUNK_BOUND`), else as the bytes arrive.

    With ``idle``, a sender that sends nothing for that many seconds raises TimeoutError: a client
    that sends half a body and waits would otherwise hold the handler, and the legacy's connection,
    for as long as it likes (aiohttp answers a body it cannot parse only once the handler is done).
    """
    pending = bytearray()
    while True:
        async with asyncio.timeout(idle):
            data, end = await stream.readchunk() if chunked else (await stream.readany(), False)
        if not data and not end:  # the end of the body
            break
        pending += data
        if (end or len(pending) >= CHUNK_BOUND or not chunked) and pending:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)
