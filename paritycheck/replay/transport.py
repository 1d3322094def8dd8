"""The transport interface: send a captured request to a backend, get a :class:`Reply`.

What every client shares lives here (URLs, outgoing headers, failure reasons, bounded bodies); the
clients themselves are ``http1`` (the default), ``aiohttp_client`` and ``httpx_client``. Nothing here
imports a client library, so a run loads only the one it uses.

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
from typing import Any, Protocol

from paritycheck.common.urls import backend_url_problem, shown_url
from paritycheck.errors import BackendError
from paritycheck.models import Reply, Request

__all__ = [
    "DEFAULT_MAX_BODY",
    "Transport",
    "check_base_url",
    "join_url",
    "outgoing_headers",
    "oversized_body",
]

DEFAULT_MAX_BODY = 32 * 1024 * 1024

#: Every client refuses a method that is not an HTTP token, before anything is sent, with this reason.
NOT_A_METHOD = "client error: the method is not an HTTP token"

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
    problem = backend_url_problem(url) if url else "is empty"
    if problem:
        raise BackendError(
            f"backend {shown_url(url)!r} {problem}", hint="use a base URL such as http://127.0.0.1:8000"
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


def invalid_http(exc: BaseException) -> str:
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
