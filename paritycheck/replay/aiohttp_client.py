"""aiohttp's client as a transport (`[replay] client = "aiohttp"`): one keep-alive session per origin."""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from paritycheck.models import Reply, Request, is_method
from paritycheck.replay.transport import (
    DEFAULT_MAX_BODY,
    NOT_A_METHOD,
    BoundedBody,
    invalid_http,
    join_url,
    os_error_reason,
    outgoing_headers,
    timeout_reason,
)

__all__ = ["AiohttpTransport", "aiohttp_reason"]


class AiohttpTransport:
    """A library transport: one keep-alive ``aiohttp.ClientSession`` per backend origin."""

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
        if not is_method(request.method):
            return Reply(status=0, error=NOT_A_METHOD)
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
                status=0, elapsed_ms=(perf_counter() - started) * 1000, error=aiohttp_reason(exc, timeout)
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


def aiohttp_reason(exc: BaseException, timeout: float) -> str:
    """The stable failure reason of an aiohttp client error, as every transport words it."""
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
        return invalid_http(exc)
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, OSError):
        return os_error_reason(exc) or f"network error: {type(exc).__name__}"
    return f"client error: {type(exc).__name__}"
