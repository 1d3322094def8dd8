"""The lean HTTP/1.1 client: keep-alive connections per backend, replies parsed by httptools (llhttp).

Replay and the live shadow path ask two backends per exchange and spend most of their CPU in the HTTP
client. aiohttp's client costs ~120 µs of CPU per keep-alive request on this machine, this one ~20 µs
(``bench/clients.py``); it capped the mirror sink below 2,000 pairs/s (issue 13). It does only what a
replay needs: one request at a time per connection (no pipelining), redirects returned, no cookies, no
proxies, gzip and deflate decoded, bodies over ``max_body`` summarised as :class:`AiohttpTransport`'s are.
A reply's head is bounded as aiohttp's and httpx's clients bound it (:data:`MAX_HEADERS` fields,
:data:`MAX_FIELD_BYTES` per field, :data:`MAX_HEAD_BYTES` in all, trailers alike): a backend that sends
headers without end costs a failed reply, not the process's memory.

Every failure is a :class:`Reply` with the same short reasons as the other transports. A keep-alive
connection that the backend closed while idle is retried once on a new one, for idempotent methods only.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import zlib
from collections.abc import Mapping
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

import httptools
from yarl import URL

from paritycheck import __version__
from paritycheck.models import Reply, Request, is_method
from paritycheck.replay.transport import (
    DEFAULT_MAX_BODY,
    NOT_A_METHOD,
    BoundedBody,
    os_error_reason,
    outgoing_headers,
    timeout_reason,
)

__all__ = ["Http1Transport"]

#: Idle keep-alive connections older than this are closed rather than reused (as aiohttp's 30 s).
IDLE_SECONDS = 30.0
#: Added when the captured request has none of its own (what aiohttp sent before this client).
DEFAULTS = (("accept", "*/*"), ("user-agent", f"paritycheck/{__version__}"))
#: Methods that a retry on a fresh connection can never apply twice (RFC 9110, 9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
#: Methods whose empty body is still announced (servers may answer 411 without a Content-Length).
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Decompressed in steps of this size, so a small compressed bomb never balloons in memory.
INFLATE_STEP = 1 << 20
#: Header fields of one reply at most (aiohttp's client: ``max_headers=128``).
MAX_HEADERS = 128
#: Bytes of one header field, name and value (aiohttp's ``max_field_size``/``max_line_size``: 8190).
MAX_FIELD_BYTES = 8190
#: Bytes of a reply's head, status line and interim replies included, and of its trailers (httpcore
#: bounds h11's head at 100 KiB). httptools gathers a field's pieces before it hands the field over, so
#: this bound, checked on the bytes fed while a head is incomplete, is what caps one endless field.
MAX_HEAD_BYTES = 100 * 1024


class _Failed(Exception):
    """A reply that cannot be had; ``reason`` is the Reply's error."""

    def __init__(self, reason: str, *, stale: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Nothing came back on a reused connection: the backend closed it while idle (safe to retry).
        self.stale = stale


class _TooLarge(Exception):
    """A reply's head passed one of the bounds above (raised in a parser callback)."""


class _Origin:
    """One backend base URL: where to connect, what to send as Host, and its idle connections."""

    __slots__ = ("host", "host_header", "idle", "port", "prefix", "ssl")

    def __init__(self, base_url: str, tls: ssl.SSLContext | None) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = tls if parts.scheme == "https" else None
        self.host_header = parts.netloc.rpartition("@")[2]
        self.prefix = parts.path.rstrip("/")
        self.idle: list[_Connection] = []


class _Connection(asyncio.Protocol):
    """One keep-alive connection; :meth:`exchange` sends a request and resolves with the reply."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, tuple[tuple[str, str], ...], bytes]] | None = None
        self.closed = False
        self.used = 0
        self.last = 0.0
        self._reset(head=False)

    def _reset(self, *, head: bool) -> None:
        self.head = head
        self.headers: list[tuple[str, str]] = []
        self.body = BoundedBody(self.max_body)
        self.inflate: Any = None
        self.started = False  # any byte of this reply
        self.complete_headers = False
        self.until_eof = False
        self.keep = True
        self.trailers = 0
        self.head_bytes = 0  # fed while the head (or the trailers) was incomplete
        self.chunk_open = False  # a chunk's size line was read and none of its data yet: maybe trailers

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self._close()  # bytes nobody asked for: this connection cannot be trusted again
            return
        self.started = True
        in_trailers = self.chunk_open
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.keep = False
            self._finish()
        except httptools.HttpParserCallbackError as exc:  # raised by one of the callbacks below
            cause = exc.__context__
            if isinstance(cause, _TooLarge):
                self._fail(f"invalid HTTP response: {cause}")
            else:
                self._fail(
                    "invalid compressed body" if isinstance(cause, zlib.error) else f"client error: {cause!r}"
                )
        except httptools.HttpParserInvalidStatusError:
            self._fail("invalid HTTP response: bad status line")
        except httptools.HttpParserError as exc:
            self._fail(_parser_reason(exc))
        else:
            self._bound_head(len(data), trailers=in_trailers)

    def _bound_head(self, size: int, *, trailers: bool) -> None:
        """Fail the reply once its head, or its trailers, passed :data:`MAX_HEAD_BYTES`."""
        waiting = self.waiter is not None and not self.waiter.done()
        # Bytes fed while the head stays incomplete are all head; while the last chunk's trailers stay
        # incomplete (the chunk still open before and after), all trailers.
        if waiting and (not self.complete_headers or (trailers and self.chunk_open)):
            self.head_bytes += size
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(f"invalid HTTP response: headers over {MAX_HEAD_BYTES // 1024} KiB")

    def eof_received(self) -> bool | None:
        self._lost(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.waiter is None or self.waiter.done():
            # A second reply to one request (a body longer than announced, a confused server): reading on
            # would hand its bytes to the next request, so this connection ends here.
            self.keep = False
            raise ConnectionError("bytes after the reply")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > MAX_FIELD_BYTES:
            raise _TooLarge(f"a header field over {MAX_FIELD_BYTES} bytes")
        if self.complete_headers:
            self.trailers += 1
            if self.trailers > MAX_HEADERS:
                raise _TooLarge(f"more than {MAX_HEADERS} trailer fields")
            return  # trailer fields after a chunked body: not headers of the reply (as aiohttp)
        if len(self.headers) >= MAX_HEADERS:
            raise _TooLarge(f"more than {MAX_HEADERS} header fields")
        self.headers.append((name.decode("latin-1").lower(), value.decode("utf-8", "surrogateescape")))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            return  # an interim reply (100 Continue, 103 Early Hints): the final one follows
        self.complete_headers = True
        self.head_bytes = 0  # from here on it counts trailer bytes
        names = {name for name, _ in self.headers}
        coding = "".join(v for k, v in self.headers if k == "transfer-encoding").lower()
        self.until_eof = (
            not self.head
            and status not in (204, 304)
            and "content-length" not in names
            and not coding.rstrip().endswith("chunked")
        )
        if "content-encoding" in names:
            self._decoder()
        if self.head:  # llhttp would wait for the body Content-Length announces: none comes
            self.keep = False
            self._finish()

    def on_chunk_header(self) -> None:
        self.chunk_open = True

    def on_chunk_complete(self) -> None:
        self.chunk_open = False

    def on_body(self, data: bytes) -> None:
        self.chunk_open = False
        if self.inflate is None:
            self.body.add(data)
            return
        chunk = self.inflate.decompress(data, INFLATE_STEP)
        while chunk:
            self.body.add(chunk)
            chunk = self.inflate.decompress(self.inflate.unconsumed_tail, INFLATE_STEP)

    def on_message_complete(self) -> None:
        if not self.complete_headers:  # the end of an interim reply
            self.headers = []
            return
        self.keep = self.keep and self.parser.should_keep_alive()
        self._finish()

    # the client's side
    def exchange(
        self, data: bytes, *, head: bool
    ) -> asyncio.Future[tuple[int, tuple[tuple[str, str], ...], bytes]]:
        assert self.transport is not None
        self._reset(head=head)
        self.waiter = asyncio.get_running_loop().create_future()
        self.used += 1
        self.transport.write(data)
        return self.waiter

    @property
    def reusable(self) -> bool:
        return (
            not self.closed and self.keep and self.transport is not None and not self.transport.is_closing()
        )

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _decoder(self) -> None:
        encoding = next(v for k, v in self.headers if k == "content-encoding").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.inflate = _Deflate()

    def _finish(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            if self.inflate is not None:  # what the decoder still holds ends the body
                self.body.add(self.inflate.flush())
            status = self.parser.get_status_code()
            self.waiter.set_result((status, tuple(self.headers), self.body.result()))
        if not self.keep:
            self._close()

    def _fail(self, reason: str, *, stale: bool = False) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(_Failed(reason, stale=stale))
        self.abort()

    def _lost(self, exc: Exception | None) -> None:
        was_closed, self.closed = self.closed, True
        if self.waiter is None or self.waiter.done():
            return
        if self.complete_headers and self.until_eof and exc is None:
            self.keep = False
            self._finish()
        elif self.started:
            reason = "connection closed mid-body" if self.complete_headers else "invalid HTTP response"
            self._fail(os_error_reason(exc) or reason)
        else:
            reason = os_error_reason(exc) or "connection closed before reply"
            self._fail(reason, stale=self.used > 1 and not was_closed)


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped as the RFC says, or raw as some do (as aiohttp)."""

    def __init__(self) -> None:
        self._d: Any = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._d is None:
            if not data:
                return b""
            self._d = zlib.decompressobj(zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
        out: bytes = self._d.decompress(data, max_length)
        self.unconsumed_tail = self._d.unconsumed_tail
        return out

    def flush(self) -> bytes:
        return b"" if self._d is None else bytes(self._d.flush())


def _parser_reason(exc: Exception) -> str:
    text = str(exc).lower()
    cues = (("http/", "bad status line"), ("status", "bad status line"), ("version", "bad status line"))
    for cue, reason in (*cues, ("header", "bad header"), ("chunk", "bad chunk")):
        if cue in text:
            return f"invalid HTTP response: {reason}"
    return "invalid HTTP response"


class Http1Transport:
    """The default transport: the lean HTTP/1.1 client (see the module's docstring)."""

    def __init__(self, *, concurrency: int = 16, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.concurrency = max(1, concurrency)
        self.max_body = max_body
        self._origins: dict[str, _Origin] = {}
        self._tls: ssl.SSLContext | None = None

    def _origin(self, base_url: str) -> _Origin:
        if self._tls is None and base_url.startswith("https:"):
            self._tls = ssl.create_default_context()
        origin = self._origins[base_url] = _Origin(base_url, self._tls)
        return origin

    async def send(
        self,
        base_url: str,
        request: Request,
        *,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109 - the per-request deadline is the interface's, not the caller's
    ) -> Reply:
        """Send ``request`` to ``base_url``; a transport failure returns ``Reply(status=0, error=...)``."""
        started = perf_counter()
        try:
            origin = self._origins.get(base_url) or self._origin(base_url)
            data = _serialise(origin, request, headers)
        except ValueError as exc:  # nothing was sent
            return Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=f"client error: {exc}")
        head = request.method == "HEAD"
        try:
            async with asyncio.timeout(timeout):
                try:
                    status, reply_headers, body = await self._exchange(origin, data, head=head)
                except _Failed as failed:
                    if not (failed.stale and request.method in IDEMPOTENT):
                        raise
                    status, reply_headers, body = await self._exchange(origin, data, head=head, fresh=True)
        except _Failed as failed:
            error = failed.reason
        except TimeoutError:
            error = timeout_reason(timeout)
        except socket.gaierror:
            error = "DNS lookup failed"
        except OSError as exc:
            error = os_error_reason(exc) or f"network error: {type(exc).__name__}"
        except Exception as exc:  # the contract: a transport never raises
            error = f"client error: {type(exc).__name__}"
        else:
            elapsed = (perf_counter() - started) * 1000
            return Reply(status=status, headers=reply_headers, body=body, elapsed_ms=elapsed)
        return Reply(status=0, elapsed_ms=(perf_counter() - started) * 1000, error=error)

    async def _exchange(
        self, origin: _Origin, data: bytes, *, head: bool, fresh: bool = False
    ) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        conn = None if fresh else self._idle(origin)
        if conn is None:
            loop = asyncio.get_running_loop()
            server_hostname = origin.host if origin.ssl is not None else None
            _, conn = await loop.create_connection(
                lambda: _Connection(self.max_body),
                origin.host,
                origin.port,
                ssl=origin.ssl,
                server_hostname=server_hostname,
            )
            sock = conn.transport.get_extra_info("socket") if conn.transport is not None else None
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            result = await conn.exchange(data, head=head)
        except BaseException:  # cancelled, timed out or failed mid-exchange: the connection is spent
            conn.abort()
            raise
        if conn.reusable and len(origin.idle) < self.concurrency:
            conn.last = time.monotonic()
            origin.idle.append(conn)
        elif not conn.closed:
            conn._close()
        return result

    def _idle(self, origin: _Origin) -> _Connection | None:
        idle = origin.idle
        while idle:
            conn = idle.pop()
            if conn.reusable and time.monotonic() - conn.last < IDLE_SECONDS:
                return conn
            conn.abort()
        return None

    async def aclose(self) -> None:
        """Close every idle connection; the transport stays usable (new connections are opened)."""
        origins = {id(o): o for o in self._origins.values()}.values()
        self._origins.clear()
        for origin in origins:
            for conn in origin.idle:
                conn._close()
            origin.idle.clear()
        await asyncio.sleep(0)  # let the transports run their close callbacks


def _serialise(origin: _Origin, request: Request, headers: Mapping[str, str]) -> bytes:
    """The request's head (and body) as bytes; raises ValueError for what cannot be sent."""
    if not is_method(request.method):
        raise ValueError(NOT_A_METHOD.removeprefix("client error: "))
    target = request.target
    if not target.startswith("/"):
        target = "/" + target
    if not (target.isascii() and target.isprintable()) or " " in target or "#" in target:
        target = URL(target).raw_path_qs  # percent-encode what the capture left raw
    pairs = outgoing_headers(request, headers)
    names = {name.lower() for name, _ in pairs}
    lines = [f"{request.method} {origin.prefix}{target} HTTP/1.1\r\nhost: {origin.host_header}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in pairs)
    lines.extend(f"{name}: {value}\r\n" for name, value in DEFAULTS if name not in names)
    lines.append("accept-encoding: gzip, deflate\r\n")
    body = request.body or b""
    if body or request.method in BODY_METHODS:
        lines.append(f"content-length: {len(body)}\r\n")
    text = "".join(lines)
    if text.count("\n") != len(lines) + 1 or text.count("\r") != text.count("\n"):
        raise ValueError("a header or the target holds a line break")
    return text.encode("utf-8", "surrogateescape") + b"\r\n" + body
