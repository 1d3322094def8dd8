"""The inline proxy: answer each client with the legacy's reply, streamed, then shadow a copy.

The client path streams both bodies chunk by chunk (never whole) and keeps status, reason and every
end-to-end header, repeated ones included; hop-by-hop headers are dropped per RFC 9110 section 7.6.1.
A copy of each body (up to ``max_body``) is kept for the shadow, which runs after the client is served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import zlib
from collections.abc import AsyncIterator, Callable
from itertools import count
from time import perf_counter
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from paritycheck.live.handoff import ShadowTarget
from paritycheck.live.metrics import DROPPED_SHUTDOWN
from paritycheck.live.relay import AsSentRequest, RelayedResponse, chunks
from paritycheck.live.websocket import WebSocketRelay, is_websocket
from paritycheck.models import Exchange, Recorded, Reply, Request
from paritycheck.replay import aiohttp_reason

#: RFC 9110 7.6.1: meaningful for one connection only, never forwarded (plus the names in Connection).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
SKIP_TOO_LARGE = "body too large to compare"
SKIP_ENCODING = "content-encoding not comparable"
SKIP_UPGRADE = "protocol upgrade (WebSocket) not compared"
SKIP_SSE = "event stream (SSE): relayed as it came, not compared"
SKIP_CLIENT_GONE = "the client went away before the answer was sent"
#: A request target that is not a path (``GET http://host/x``, ``CONNECT host:443``, ``OPTIONS *``): the
#: listener is no forward proxy, so it is answered 400 and counted under this reason, never forwarded.
SKIP_NOT_ROUTED = "refused: the request target is not a path (absolute-form), not routed"
SKIP_BAD_BODY = "refused: the client's request body was malformed"
SKIP_CLIENT_STALLED = "refused: the client stopped sending its request body"
NOT_ROUTED_TEXT = "400 Bad Request: this proxy routes request targets that are paths (/path?query)\n"


def _hop_by_hop(headers: CIMultiDict[str] | aiohttp.typedefs.LooseHeaders) -> set[str]:
    names = set(HOP_BY_HOP)
    for value in CIMultiDict(headers).getall("connection", []):
        names.update(token.strip().lower() for token in value.split(",") if token.strip())
    return names


def _end_to_end(headers: CIMultiDict[str]) -> list[tuple[str, str]]:
    drop = _hop_by_hop(headers)
    return [(k, v) for k, v in headers.items() if k.lower() not in drop]


def _decoded(body: bytes, encoding: str | None) -> bytes | None:
    """The body as the replay transport sees it (decompressed), or None if it cannot be decoded here."""
    if not encoding or encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, wbits=47)  # 32 + 15: gzip or zlib, detected from the header
        except zlib.error:
            return None
    return None


class Proxy:
    """An aiohttp handler forwarding every request to ``legacy`` and offering a copy to ``shadow``."""

    def __init__(
        self,
        legacy: str,
        shadow: ShadowTarget,
        *,
        timeout: float,
        max_body: int = 1024 * 1024,
        source: str = "proxy",
        record: Callable[[Exchange], None] | None = None,
        client_timeout: float | None = None,
    ) -> None:
        self.legacy = legacy.rstrip("/")
        #: Seconds a client may send nothing of its request body before the request is refused.
        self.client_timeout = client_timeout
        self.shadow = shadow
        self.max_body = max_body
        self.source = source
        self.record = record
        self.timeout = timeout
        self._index = count()
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self.session: aiohttp.ClientSession | None = None
        self.websockets = WebSocketRelay(self.legacy, shadow, timeout=timeout)

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
            auto_decompress=False,  # the client gets legacy's bytes as they were sent
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            # The legacy gets the client's headers, none of aiohttp's own (live/relay.py).
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            request_class=AsSentRequest,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Before the listener waits for its handlers: open WebSockets end now (1001), not in a minute."""
        await self.websockets.close_all()

    async def close(self) -> None:
        await self.websockets.close_all()
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        if not request.raw_path.startswith("/"):  # absolute-, authority- or asterisk-form: not routed
            self.shadow.offer(refused_exchange(request, index=next(self._index), source=self.source))
            return web.Response(status=400, text=NOT_ROUTED_TEXT)
        # Expect is answered here (aiohttp sent the client its 100 Continue before this handler ran),
        # so the body goes to the legacy at once rather than after a 100 it may never send.
        drop = {"host", "expect"}
        headers = [(k, v) for k, v in _end_to_end(CIMultiDict(request.headers)) if k.lower() not in drop]
        if is_websocket(request):  # relayed frame by frame to the legacy, counted as skipped
            return await self.websockets.handle(request, self.session, self._exchange(request, None), headers)
        upgrade = "upgrade" in request.headers and "upgrade" in request.headers.get("connection", "").lower()
        copy = _Copy(self.max_body)
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()

        fault: list[str] = []

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks(request.content, chunked=chunked, idle=self.client_timeout):
                    copy.add(chunk)
                    yield chunk
            except TimeoutError:  # the client's fault, not the legacy's
                fault.append(SKIP_CLIENT_STALLED)
                raise
            except web.RequestPayloadError:
                fault.append(SKIP_BAD_BODY)
                raise

        has_body = request.body_exists
        started = perf_counter()
        started_at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        try:
            upstream = await self.session.request(
                request.method,
                self.legacy + request.raw_path,
                headers=headers,
                data=body() if has_body else None,
                allow_redirects=False,
                timeout=self._timeout,
                compress=None,
            )
        except asyncio.CancelledError:  # the listener stops (--drain spent): still accounted for
            self.shadow.offer(dataclasses.replace(self._exchange(request, None), skip=DROPPED_SHUTDOWN))
            raise
        except Exception as exc:
            if fault:  # the client's body stalled or could not be read: refused, no legacy failure
                self.shadow.offer(dataclasses.replace(self._exchange(request, None), skip=fault[0]))
                return refusal(fault[0])
            reply = Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=self._reason(exc))
            self.shadow.failed(self._exchange(request, copy.body if has_body else None), reply)
            return web.Response(status=502, text="502 Bad Gateway: legacy backend unavailable\n")
        exchange = self._exchange(request, copy.body if has_body else None)
        async with upstream:
            out, kept = await self._relay(request, upstream, exchange, started)
        if kept is not None:  # else cut short, and the shadow was told why
            skip = SKIP_UPGRADE if upgrade else SKIP_TOO_LARGE if copy.over else None
            self._offer(exchange, upstream, kept, started=started, started_at=started_at, skip=skip)
        return out

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse, exchange: Exchange, started: float
    ) -> tuple[web.StreamResponse, _Copy | None]:
        """Stream the legacy's answer to the client; the answer and a copy of its body (None when the
        answer was cut short: the shadow was told why)."""
        raw = upstream.raw_headers
        out = RelayedResponse(
            status=upstream.status,
            reason=upstream.reason,
            sent=frozenset(k.decode("latin-1").lower() for k, _ in raw),
        )
        headers = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        for name, value in _end_to_end(headers):
            out.headers.add(name, value)
        kept = _Copy(self.max_body)
        chunked = headers.get("transfer-encoding", "").lower().rstrip().endswith("chunked")
        try:
            await out.prepare(request)
            async for chunk in chunks(upstream.content, chunked=chunked):
                await out.write(chunk)
                kept.add(chunk)
            await out.write_eof()
        except ConnectionResetError:  # the client hung up (common; aiohttp's reset error is one)
            self.shadow.offer(dataclasses.replace(exchange, skip=SKIP_CLIENT_GONE))
            return out, None
        except aiohttp.ClientError as exc:  # the legacy broke off mid-answer: the client sees it cut
            reply = Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=self._reason(exc))
            self.shadow.failed(exchange, reply)
            if request.transport is not None:  # never end a cut body as if it were complete
                request.transport.close()
            return out, None
        except asyncio.CancelledError:  # the listener stops mid-answer (--drain spent)
            self.shadow.offer(dataclasses.replace(exchange, skip=DROPPED_SHUTDOWN))
            raise
        return out, kept

    def _offer(
        self,
        exchange: Exchange,
        upstream: aiohttp.ClientResponse,
        kept: _Copy,
        *,
        started: float,
        started_at: str,
        skip: str | None,
    ) -> None:
        """Offer the answered exchange to the shadow (with the legacy's reply), or say why it is not."""
        elapsed = (perf_counter() - started) * 1000
        raw = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.raw_headers)
        decoded = None if kept.over else _decoded(kept.body, raw.get("content-encoding"))
        skip = (
            skip
            or (  # stream comparison through the proxy is not built; a feed may never end
                SKIP_SSE if raw.get("content-type", "").lower().startswith("text/event-stream") else None
            )
            or (SKIP_TOO_LARGE if kept.over else SKIP_ENCODING if decoded is None else None)
        )
        if skip is not None:
            self.shadow.offer(dataclasses.replace(exchange, skip=skip))
            return
        assert decoded is not None
        legacy = Reply(
            status=upstream.status,
            headers=tuple((k.lower(), v) for k, v in raw.items()),
            body=decoded,
            elapsed_ms=elapsed,
        )
        self.shadow.offer(exchange, legacy)
        if self.record is not None:  # --record: the legacy exchange as a capture replay reads
            recorded = Recorded(status=legacy.status, headers=legacy.headers, body=legacy.body)
            self.record(dataclasses.replace(exchange, recorded=recorded, started=started_at))

    def _reason(self, exc: BaseException) -> str:
        return aiohttp_reason(exc, self.timeout)

    def _exchange(self, request: web.Request, body: bytes | None) -> Exchange:
        return live_exchange(request, body, index=next(self._index), source=self.source)


class _Copy:
    """The shadow's copy of a body, up to ``limit`` bytes; past it, only the fact (``over``)."""

    __slots__ = ("data", "limit", "over")

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.limit = limit
        self.over = False

    def add(self, chunk: bytes) -> None:
        if not self.over:
            self.data.extend(chunk)
            if len(self.data) > self.limit:
                self.over = True
                self.data.clear()

    @property
    def body(self) -> bytes:
        return bytes(self.data)


def live_exchange(
    request: web.Request, body: bytes | None, *, index: int, source: str, host: str | None = None
) -> Exchange:
    """The exchange of one live request: raw target, lower-case end-to-end headers, the body copy."""
    drop = _hop_by_hop(CIMultiDict(request.headers))
    headers = tuple(
        (k.lower(), host if host is not None and k.lower() == "host" else v)
        for k, v in request.headers.items()
        if k.lower() not in drop
    )
    target = request.raw_path
    path, _, query = target.partition("?")
    # ``url`` keeps the query, so that a stored or --record-ed live request replays as it came.
    return Exchange(
        index=index,
        source=source,
        request=Request(
            method=request.method, url=target, path=path, query=query, headers=headers, body=body
        ),
    )


def refusal(reason: str) -> web.Response:
    """What a client whose request body stalled (408) or could not be read (400) is answered."""
    if reason == SKIP_CLIENT_STALLED:
        return web.Response(status=408, text="408 Request Timeout: the request body stopped\n")
    return web.Response(status=400, text="400 Bad Request: malformed request body\n")


def refused_exchange(request: web.Request, *, index: int, source: str) -> Exchange:
    """The exchange of a request whose target is not a path, skipped as :data:`SKIP_NOT_ROUTED`.

    It keeps only the target's path and query: the authority (with any ``user@``) is not stored.
    """
    target = request.raw_path
    try:
        parts = urlsplit(target)
        path, query = parts.path or "/", parts.query
    except ValueError:
        path, query = "/", ""
    if not path.startswith("/"):
        path = "/"
    exchange = live_exchange(request, None, index=index, source=source)
    url = f"{path}?{query}" if query else path
    request_ = dataclasses.replace(exchange.request, url=url, path=path, query=query)
    return dataclasses.replace(exchange, request=request_, skip=SKIP_NOT_ROUTED)
