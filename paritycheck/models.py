"""The data model every stage shares: captured exchanges, backend replies, compared outcomes.

Library objects (aiohttp or httpx responses, ijson events, sqlite rows) are converted to these at the
edge, so normalise, diff, store and report never import an HTTP client. This module imports nothing
from the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Header list as ``(name, value)`` pairs. Names are lower-case; repeated headers stay repeated.
Headers = tuple[tuple[str, str], ...]

#: Media type of a replayed stream's reply body: a JSON record of its events (docs/streams.md).
STREAM_MEDIA = "application/vnd.paritycheck.stream+json"

#: Risk grades of differences and findings, from the most to the least severe (docs/json-summary.md).
GRADES = ("accepts-refused", "server-error", "breaking", "behavioural", "additive")

#: Methods replayed without ``--allow-writes``.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: RFC 9110 5.6.2: a method is a token, one or more of these characters (no space, no control, no
#: separator), so that ``GET /admin?x= /public`` can never be a method that rewrites the request line.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def is_method(method: str) -> bool:
    """Whether ``method`` is an HTTP token, as every reader, listener and client requires."""
    return _TOKEN.fullmatch(method) is not None


def header(headers: Headers, name: str) -> str | None:
    """Return the first value of header ``name`` (lower-case), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Message:
    """One captured stream message: an SSE event, or a WebSocket frame sent or received.

    ``direction`` is ``send`` (client to server) or ``receive``. ``time`` is seconds since the stream
    opened (0 when the capture has no times). ``opcode`` is 1 for text, 2 for binary (``data`` is then
    base64). ``event`` and ``id`` are the SSE fields, when set.
    """

    direction: str
    data: str
    time: float = 0.0
    opcode: int = 1
    event: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """How a captured WebSocket conversation was closed: the close frame's code and reason, and by whom.

    ``by`` is ``server``, ``client`` or ``""`` (the capture does not say); ``code`` is None for a close
    frame without a code.
    """

    code: int | None = None
    reason: str = ""
    by: str = ""


@dataclass(frozen=True, slots=True)
class Stream:
    """The captured messages of a streaming exchange: ``kind`` is ``sse`` or ``websocket``.

    ``truncated`` says the capture's message list was cut short (a damaged or partial export): the
    replay then reads by the configured limits instead of the captured count. ``close`` is the
    WebSocket close frame where the capture recorded one.
    """

    kind: str
    messages: tuple[Message, ...] = ()
    truncated: bool = False
    close: Close | None = None

    @property
    def received(self) -> int:
        return sum(1 for m in self.messages if m.direction == "receive")


@dataclass(frozen=True, slots=True)
class Request:
    """A request as captured, ready to be re-sent to any backend.

    ``path`` is the captured path without scheme, host or query; ``query`` is the raw query string
    without ``?``. Hop-by-hop, transport and HTTP/2 pseudo-headers are already removed.
    """

    method: str
    url: str
    path: str
    query: str = ""
    headers: Headers = ()
    body: bytes | None = None
    #: Set for an SSE or WebSocket exchange: what the capture recorded of the stream (docs/streams.md).
    stream: Stream | None = None

    @property
    def target(self) -> str:
        """Path plus query, as appended to a backend's base URL."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def is_safe(self) -> bool:
        return self.method in SAFE_METHODS


@dataclass(frozen=True, slots=True)
class Recorded:
    """The response recorded in the capture, when it has one."""

    status: int
    headers: Headers = ()
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One captured request (and the response recorded with it).

    ``skip`` is set by the capture reader for entries that cannot be replayed (a
    non-HTTP URL); they are still yielded so that every entry is accounted for in the totals.
    """

    index: int
    source: str
    request: Request
    recorded: Recorded | None = None
    started: str | None = None
    page: str | None = None
    skip: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One backend's answer to one request, or the reason it did not answer.

    ``error`` is set for transport failures (refused, reset, timeout, invalid HTTP); ``status`` is then 0.
    ``elapsed_ms`` runs from send to last byte.
    """

    status: int
    headers: Headers = ()
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between the two normalised replies.

    ``kind`` is one of ``status``, ``header``, ``changed``, ``type``, ``added`` (only in candidate),
    ``removed`` (only in legacy), ``order``, ``body``. ``path`` is ``status``, ``header:<name>`` or a
    JSONPath into the body such as ``$.data.items[2].price``. Values are JSON-serialisable.
    ``path`` names the *normalised* document (for grouping); ``legacy_path`` and ``candidate_path``
    are where each side wrote it on the wire, before key-case and envelope renames, when that differs
    (None: the same as ``path``).
    """

    kind: str
    path: str
    legacy: Any = None
    candidate: Any = None
    legacy_path: str | None = None
    candidate_path: str | None = None


class Status(StrEnum):
    """What happened to one exchange."""

    MATCHED = "matched"
    MISMATCHED = "mismatched"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """An exchange, both replies, and what comparing them found.

    ``reason`` explains a failed or skipped outcome (``"legacy: connection refused"``,
    ``"unsafe method POST (use --allow-writes)"``). ``noise`` holds differences that were found but
    classed as noise; they do not make the outcome mismatched.
    """

    exchange: Exchange
    endpoint: str
    status: Status
    legacy: Reply | None = None
    candidate: Reply | None = None
    differences: tuple[Difference, ...] = ()
    reason: str | None = None
    noise: tuple[Difference, ...] = field(default=())
    legacy_again: Reply | None = None
