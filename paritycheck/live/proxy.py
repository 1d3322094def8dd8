"""The inline proxy: answer each client with the legacy's reply, streamed, then shadow a copy.

The client path streams both bodies chunk by chunk (never whole) and keeps status, reason and every
end-to-end header, repeated ones included; hop-by-hop headers are dropped per RFC 9110 section 7.6.1.
A copy of each body (up to ``max_body``) is kept for the shadow, which runs after the client is served.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from collections.abc import AsyncIterator, Callable
from itertools import count
from time import perf_counter

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from paritycheck.live.handoff import ShadowTarget
from paritycheck.live.websocket import WebSocketRelay, is_websocket
from paritycheck.models import Exchange, Recorded, Reply, Request

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
    ) -> None:
        self.legacy = legacy.rstrip("/")
        self.shadow = shadow
        self.max_body = max_body
        self.source = source
        self.record = record
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
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
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
        upgrade = "upgrade" in request.headers and "upgrade" in request.headers.get("connection", "").lower()
        headers = _end_to_end(CIMultiDict(request.headers))
        headers = [(k, v) for k, v in headers if k.lower() != "host"]
        if is_websocket(request):  # relayed frame by frame to the legacy, counted as skipped
            return await self.websockets.handle(request, self.session, self._exchange(request, None), headers)
        kept = bytearray()
        too_large = False

        async def body() -> AsyncIterator[bytes]:
            nonlocal too_large
            async for chunk in request.content.iter_any():
                if not too_large:
                    kept.extend(chunk)
                    if len(kept) > self.max_body:
                        too_large = True
                        kept.clear()
                yield chunk

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
        except Exception as exc:
            reply = Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=_reason(exc))
            self.shadow.failed(self._exchange(request, bytes(kept) if has_body else None), reply)
            return web.Response(status=502, text="502 Bad Gateway: legacy backend unavailable\n")
        async with upstream:
            out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            raw = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.raw_headers)
            for name, value in _end_to_end(raw):
                out.headers.add(name, value)
            answer = bytearray()
            answer_too_large = False
            try:
                await out.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await out.write(chunk)
                    if not answer_too_large:
                        answer.extend(chunk)
                        if len(answer) > self.max_body:
                            answer_too_large = True
                            answer.clear()
                await out.write_eof()
            except ConnectionResetError:  # the client hung up (common; aiohttp's reset error is one)
                self.shadow.offer(dataclasses.replace(self._exchange(request, None), skip=SKIP_CLIENT_GONE))
                return out
            except aiohttp.ClientError as exc:  # the legacy broke off mid-answer: the client sees it cut
                reply = Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=_reason(exc))
                self.shadow.failed(self._exchange(request, None), reply)
                if request.transport is not None:  # never end a cut body as if it were complete
                    request.transport.close()
                return out
        elapsed = (perf_counter() - started) * 1000
        exchange = self._exchange(request, bytes(kept) if has_body else None)
        decoded = None if answer_too_large else _decoded(bytes(answer), raw.get("content-encoding"))
        skip = (
            SKIP_UPGRADE
            if upgrade
            else SKIP_SSE  # stream comparison through the proxy is not built; a feed may never end
            if raw.get("content-type", "").lower().startswith("text/event-stream")
            else SKIP_TOO_LARGE
            if too_large or answer_too_large
            else SKIP_ENCODING
            if decoded is None
            else None
        )
        if skip is not None:
            self.shadow.offer(dataclasses.replace(exchange, skip=skip))
        else:
            assert decoded is not None
            legacy = Reply(
                status=upstream.status,
                headers=tuple((k.lower(), v) for k, v in raw.items()),
                body=decoded,
                elapsed_ms=elapsed,
            )
            self.shadow.offer(exchange, legacy)
            if self.record is not None:  # --record: the legacy exchange as a capture replay reads
                self.record(
                    dataclasses.replace(
                        exchange,
                        recorded=Recorded(status=legacy.status, headers=legacy.headers, body=legacy.body),
                        started=started_at,
                    )
                )
        return out

    def _exchange(self, request: web.Request, body: bytes | None) -> Exchange:
        return live_exchange(request, body, index=next(self._index), source=self.source)


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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"
