"""Session grouping: which captured exchanges belong to one client session, and what a session holds.

``[sessions] key`` chooses the markers that tie exchanges together: ``auto`` (the Authorization value,
session-like cookies and the HAR page), ``page``, ``authorization``, ``header:<name>``, ``cookie:<name>``
or ``query:<name>``; ``none`` turns sessions off. Exchanges also join the session that generated a
distinctive value they send (the token a login answered, an id a create answered). Exchanges with no
marker belong to one default session per capture file.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote_plus

from paritycheck.errors import ConfigError
from paritycheck.models import Exchange, header
from paritycheck.session.correlate import Produced

__all__ = ["SESSION_COOKIE", "Group", "Grouper"]

#: Cookie names that carry a session rather than a preference or an analytics id.
SESSION_COOKIE = re.compile(r"sess|sid|auth|token|jwt|login|remember", re.IGNORECASE)
_KEYS = ("auto", "none", "page", "authorization")
_PREFIXES = ("header:", "cookie:", "query:")
#: Produced values remembered per session; past this the oldest half is forgotten.
MAX_VALUES = 200_000


@dataclass(slots=True)
class Group:
    """One session: its values, its learned correlations and its ordering state."""

    id: int
    name: str
    #: Ordered from its first write on: each later exchange waits for the one before it.
    ordered: bool = False
    #: Captured value -> the exchange index that produced it, and what it is.
    produced: dict[str, tuple[int, Produced]] = field(default_factory=dict)
    #: side -> (resource or "*", captured value) -> that backend's own value (learned from the earliest
    #: exchange in capture order, so that concurrency never changes which one later requests get).
    values: dict[str, dict[tuple[str, str], object]] = field(
        default_factory=lambda: {"legacy": {}, "candidate": {}}
    )
    #: side -> key of ``values`` -> the capture index of the exchange it was learned from.
    learned_at: dict[str, dict[tuple[str, str], int]] = field(
        default_factory=lambda: {"legacy": {}, "candidate": {}}
    )
    #: side -> backend value (as text) -> every captured value it answered, for recognising correlated
    #: differences. Several when a backend answered one value for two captured ones (two tokens signed
    #: within one second): a str for one, a frozenset once there are more.
    reverse: dict[str, dict[str, str | frozenset[str]]] = field(
        default_factory=lambda: {"legacy": {}, "candidate": {}}
    )
    #: Exchanges of this session started before it became ordered, still running.
    pending: dict[int, asyncio.Event] = field(default_factory=dict)
    #: Events of exchanges that produced values, by exchange index (set when they finish).
    producers: dict[int, asyncio.Event] = field(default_factory=dict)

    def remember(self, index: int, produced: list[Produced]) -> None:
        """Index the values exchange ``index`` generated in the capture."""
        if len(self.produced) > MAX_VALUES:
            for key in list(self.produced)[: MAX_VALUES // 2]:
                del self.produced[key]
        for p in produced:
            self.produced.setdefault(p.value, (index, p))

    def learn(self, side: str, key: tuple[str, str], value: object, *, index: int) -> bool:
        """Note ``side``'s ``value`` for the captured ``key``, learned from exchange ``index``.

        Returns whether ``key`` was new. The earliest exchange's value wins (``index`` 0: the first one).
        """
        values, at = self.values[side], self.learned_at[side]
        if key not in values:
            values[key] = value
            at[key] = index
            return True
        if index < at.get(key, -1):  # an earlier exchange, learned later (it ran concurrently)
            values[key] = value
            at[key] = index
        return False

    def answered(self, side: str, value: str, captured: str) -> None:
        """Note that ``side`` answered ``value`` where the capture had ``captured``."""
        reverse = self.reverse[side]
        known = reverse.get(value)
        if known is None:
            reverse[value] = captured
        elif isinstance(known, str):
            if known != captured:
                reverse[value] = frozenset((known, captured))
        elif captured not in known:
            reverse[value] = known | {captured}


class Grouper:
    """Markers of an exchange under one ``[sessions] key`` setting."""

    def __init__(self, key: str, *, source: str = "configuration") -> None:
        key = key.strip()
        low = key.lower()
        if low not in _KEYS and not (low.startswith(_PREFIXES) and key.partition(":")[2].strip()):
            raise ConfigError(
                f"{source}: sessions.key must be one of {', '.join(_KEYS)} or header:/cookie:/query:<name>,"
                f" not {key!r}",
                hint='e.g. key = "auto" or key = "header:X-Session-Id"',
            )
        mode, _, name = key.partition(":")
        self.mode = mode.lower()
        self.name = name.strip() if self.mode == "cookie" or self.mode == "query" else name.strip().lower()
        self.enabled = self.mode != "none"

    def markers(self, exchange: Exchange) -> list[Hashable]:
        """What ties this exchange to others of its session, strongest first."""
        request = exchange.request
        mode = self.mode
        out: list[Hashable] = []
        if mode in ("auto", "authorization"):
            auth = header(request.headers, "authorization")
            if auth:
                out.append(("authorization", auth))
        if mode in ("auto", "cookie"):
            for name, value in _request_cookies(header(request.headers, "cookie")):
                if (name == self.name) if mode == "cookie" else SESSION_COOKIE.search(name):
                    out.append(("cookie", name, value))
        if mode == "header":
            found = header(request.headers, self.name)
            if found:
                out.append(("header", self.name, found))
        if mode == "query" and request.query:
            for pair in request.query.split("&"):
                name, _, value = pair.partition("=")
                if unquote_plus(name) == self.name and value:
                    out.append(("query", self.name, unquote_plus(value)))
        if mode in ("auto", "page") and exchange.page:
            out.append(("page", exchange.source, exchange.page))
        return out


def _request_cookies(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    try:
        jar: SimpleCookie = SimpleCookie(value)
    except CookieError:
        return [(k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in value.split(";")) if v]
    return [(m.key, m.value) for m in jar.values()]
