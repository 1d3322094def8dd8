"""httpx's client as a transport (`[replay] client = "httpx"`; in-process tests use its MockTransport)."""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter
from urllib.parse import urlsplit

import httpx

from paritycheck.models import Reply, Request, is_method
from paritycheck.replay.transport import (
    DEFAULT_MAX_BODY,
    NOT_A_METHOD,
    BoundedBody,
    join_url,
    os_error_reason,
    outgoing_headers,
    timeout_reason,
)

__all__ = ["HttpxTransport"]


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
        if not is_method(request.method):
            return Reply(status=0, error=NOT_A_METHOD)
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
