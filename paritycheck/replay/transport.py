"""HTTP clients behind one small interface: send a captured request to a backend, get a :class:`Reply`.

Transport failures never raise: they become ``Reply(status=0, error=...)`` with a short, stable reason
(grouped and counted by the report). Requests only ever go to the backend's own host: redirects are
returned, not followed, and proxies from the environment are ignored.
"""

from __future__ import annotations

import errno
import hashlib
import re
import ssl
from collections.abc import Mapping
from time import perf_counter
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx
from yarl import URL

from paritycheck.common.secrets import shown_url
from paritycheck.errors import BackendError
from paritycheck.models import Reply, Request

__all__ = [
    "DEFAULT_MAX_BODY",
    "AiohttpTransport",
    "HttpxTransport",
    "Transport",
    "check_base_url",
    "join_url",
    "outgoing_headers",
    "oversized_body",
]

DEFAULT_MAX_BODY = 32 * 1024 * 1024

#: Captured headers never re-sent: the client computes them for the new connection and body.
#: Accept-Encoding is dropped so that the client only asks for encodings it can decode.
DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
    }
)


class Transport(Protocol):
    """Sends one request to one backend; never raises for transport failures."""

    async def send(
        self,
        base_url: str,
        request: Request,
        *,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109 - the per-request deadline is the interface's, not the caller's
    ) -> Reply: ...

    async def aclose(self) -> None: ...


def check_base_url(url: str) -> str:
    """Return ``url`` if it can serve as a backend base URL, else raise :class:`BackendError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(
            f"backend {shown_url(url)!r} is not an http(s) URL",
            hint="use a base URL such as http://127.0.0.1:8000",
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise BackendError(
            f"backend {shown_url(url)!r} must not carry a query, a fragment or credentials",
            hint="give scheme, host, port and an optional path prefix; put credentials in backend headers",
        )
    return url


def join_url(base_url: str, target: str) -> str:
    """Base URL (maybe with a path prefix) plus a request target, with exactly one slash between them.

    The target always starts a new path segment, so it can never change the host (``@evil``, ``//evil``).
    """
    if not target.startswith("/"):
        target = "/" + target
    return base_url.rstrip("/") + target


def outgoing_headers(request: Request, headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """Captured headers minus the dropped ones, with configured ``headers`` replacing captured ones."""
    if headers:
        override = {name.lower() for name in headers}
        out = [(k, v) for k, v in request.headers if k not in DROPPED_HEADERS and k not in override]
        out.extend(headers.items())
        return out
    return [(k, v) for k, v in request.headers if k not in DROPPED_HEADERS]


def timeout_reason(timeout: float) -> str:
    return f"timeout after {float(timeout)!r}s"


def os_error_reason(exc: BaseException | None) -> str | None:
    """A stable reason for the OSError behind ``exc`` (walking causes), or None."""
    seen = 0
    while exc is not None and seen < 6:
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            return "connection reset"
        if isinstance(exc, ssl.SSLError):
            return "TLS error"
        if isinstance(exc, OSError) and exc.errno is not None:
            if exc.errno == errno.ECONNREFUSED:
                return "connection refused"
            if exc.errno in (errno.ECONNRESET, errno.EPIPE):
                return "connection reset"
            return f"cannot connect: {errno.errorcode.get(exc.errno, exc.errno)}"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _invalid_http(exc: BaseException) -> str:
    """``invalid HTTP response: bad status line`` from aiohttp's parser exception class names."""
    name = type(exc).__name__
    if name in ("ClientResponseError", "HttpProcessingError"):
        # The parser's class name is in the message, e.g. "400, message='Bad status line ...'"
        text = str(getattr(exc, "message", exc))
        match = re.match(r"([A-Za-z ]+)", text.strip("'\" "))
        reason = match.group(1).strip().lower() if match else ""
        return f"invalid HTTP response: {reason}" if reason else "invalid HTTP response"
    return f"invalid HTTP response: {_CAMEL.sub(' ', name).lower()}"


def oversized_body(size: int, sha256: str) -> bytes:
    """What stands for a body over ``[replay] max_body``: its size and SHA-256, as a small JSON document.

    Both backends' oversized bodies become such documents, so they compare equal exactly when the bodies
    are byte-identical, and a JSON diff names ``$.paritycheck_oversized_body.sha256`` when they are not.
    """
    return b'{"paritycheck_oversized_body": {"bytes": %d, "sha256": "%s"}}' % (size, sha256.encode())


class BoundedBody:
    """Collects a body up to ``limit`` bytes; past it, hashes the rest instead (memory stays flat)."""

    __slots__ = ("buf", "limit", "sha", "size")

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self.buf = bytearray()
        self.sha: Any = None

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.sha is not None:
            self.sha.update(chunk)
            return
        self.buf += chunk
        if len(self.buf) > self.limit:
            self.sha = hashlib.sha256(self.buf)
            self.buf = bytearray()

    def result(self) -> bytes:
        return bytes(self.buf) if self.sha is None else oversized_body(self.size, self.sha.hexdigest())


class AiohttpTransport:
    """The default transport: one keep-alive ``aiohttp.ClientSession`` per backend origin."""

    def __init__(self, *, concurrency: int = 16, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.concurrency = max(1, concurrency)
        self.max_body = max_body
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _session(self, url: str) -> aiohttp.ClientSession:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        session = self._sessions.get(origin)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30
            )
            session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=True,
                # Replay never carries cookies from one request to the next: each sends its captured ones.
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
                max_field_size=65536,
                max_line_size=65536,
            )
            self._sessions[origin] = session
        return session

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
            url = join_url(base_url, request.target)
            session = self._sessions.get(base_url) or self._session_for_base(base_url)
            client_timeout = self._timeouts.get(timeout)
            if client_timeout is None:
                client_timeout = self._timeouts[timeout] = aiohttp.ClientTimeout(total=timeout)
            # Captured targets are already percent-encoded: send them as they are unless they cannot be.
            encoded = url.isascii() and url.isprintable() and " " not in url and "#" not in url
            async with session.request(
                request.method,
                URL(url, encoded=encoded),
                headers=outgoing_headers(request, headers),
                data=request.body,
                allow_redirects=False,
                timeout=client_timeout,
            ) as resp:
                body = await self._read(resp)
                reply_headers = tuple((k.lower(), v) for k, v in resp.headers.items())
                status = resp.status
        except Exception as exc:  # the contract: a transport never raises
            return Reply(
                status=0, elapsed_ms=(perf_counter() - started) * 1000, error=_aiohttp_error(exc, timeout)
            )
        return Reply(
            status=status, headers=reply_headers, body=body, elapsed_ms=(perf_counter() - started) * 1000
        )

    def _session_for_base(self, base_url: str) -> aiohttp.ClientSession:
        # Cache by the exact base URL too, so the hot path is one dict lookup.
        session = self._session(base_url)
        self._sessions[base_url] = session
        return session

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        length = resp.content_length
        if length is not None and "Content-Encoding" not in resp.headers and length <= self.max_body:
            return await resp.read()
        body = BoundedBody(self.max_body)
        content = resp.content
        while chunk := await content.readany():
            body.add(chunk)
        return body.result()

    async def aclose(self) -> None:
        """Close every session (and its connections)."""
        sessions = {id(s): s for s in self._sessions.values()}.values()
        self._sessions.clear()
        for session in sessions:
            await session.close()


def _aiohttp_error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):  # also aiohttp's ServerTimeoutError / ConnectionTimeoutError
        return timeout_reason(timeout)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return os_error_reason(exc.os_error) or "cannot connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed before reply"
    if isinstance(exc, aiohttp.ClientPayloadError):
        if isinstance(exc.__cause__, aiohttp.http_exceptions.ContentEncodingError) or "encod" in str(exc):
            return "invalid compressed body"
        return os_error_reason(exc.__cause__) or "connection closed mid-body"
    if isinstance(exc, aiohttp.ClientResponseError):
        return _invalid_http(exc)
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, OSError):
        return os_error_reason(exc) or f"network error: {type(exc).__name__}"
    return f"client error: {type(exc).__name__}"


class HttpxTransport:
    """An ``httpx.AsyncClient`` transport; pass ``transport=httpx.MockTransport(...)`` for in-process tests.

    With a custom ``transport`` one client serves every backend; otherwise one client per origin, since
    httpx's pool degrades when one client is shared by many concurrent requests.
    """

    def __init__(
        self,
        *,
        concurrency: int = 16,
        max_body: int = DEFAULT_MAX_BODY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.max_body = max_body
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, base_url: str) -> httpx.AsyncClient:
        parts = urlsplit(base_url)
        origin = "*" if self._transport is not None else f"{parts.scheme}://{parts.netloc}"
        client = self._clients.get(origin)
        if client is None or client.is_closed:
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            client = httpx.AsyncClient(
                transport=self._transport, limits=limits, trust_env=False, follow_redirects=False
            )
            self._clients[origin] = client
        self._clients[base_url] = client
        return client

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
            client = self._clients.get(base_url) or self._client(base_url)
            req = client.build_request(
                request.method,
                join_url(base_url, request.target),
                headers=outgoing_headers(request, headers),
                content=request.body,
                timeout=timeout,
            )
            resp = await client.send(req, stream=True)
            try:
                bounded = BoundedBody(self.max_body)
                async for chunk in resp.aiter_bytes():
                    bounded.add(chunk)
                buf = bounded.result()
            finally:
                await resp.aclose()
            reply_headers = tuple((k.lower(), v) for k, v in resp.headers.multi_items())
        except Exception as exc:  # the contract: a transport never raises
            return Reply(
                status=0, elapsed_ms=(perf_counter() - started) * 1000, error=_httpx_error(exc, timeout)
            )
        elapsed = (perf_counter() - started) * 1000
        return Reply(status=resp.status_code, headers=reply_headers, body=bytes(buf), elapsed_ms=elapsed)

    async def aclose(self) -> None:
        """Close every client."""
        clients = {id(c): c for c in self._clients.values()}.values()
        self._clients.clear()
        for client in clients:
            await client.aclose()


def _httpx_error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return timeout_reason(timeout)
    if isinstance(exc, httpx.ConnectError):
        reason = os_error_reason(exc)
        if reason:
            return reason
        text = str(exc).lower()
        if "refused" in text or "all connection attempts failed" in text:
            return "connection refused"
        return "DNS lookup failed" if "name" in text and "resolution" in text else "cannot connect"
    if isinstance(exc, httpx.DecodingError):
        return "invalid compressed body"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc).lower()
        if "without sending a response" in text or "server disconnected" in text:
            return "connection closed before reply"
        if "incomplete" in text or "complete message body" in text or "peer closed" in text:
            return "connection closed mid-body"
        if "status line" in text:
            return "invalid HTTP response: bad status line"
        return "invalid HTTP response"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return os_error_reason(exc) or "connection reset"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "invalid URL"
    if isinstance(exc, OSError):
        return os_error_reason(exc) or f"network error: {type(exc).__name__}"
    return f"client error: {type(exc).__name__}"
