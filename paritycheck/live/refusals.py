"""Malformed client requests: one line each on stderr, rate-limited, and counted; never a traceback.

aiohttp's server answers a request it cannot parse with 400 and logs the parser's exception with its
traceback, once per request: 25 tracebacks in one run of a listener under a fuzzing client (issue 23).
A listener is exposed to whatever reaches its port, so :class:`RefusalLog` is the logger its server
uses instead: a malformed request becomes one line naming its class of fault (never the bytes the
client sent, which may hold a token), at most :data:`BURST` lines per :data:`PERIOD` seconds with a
count of those left out, and a call to ``on_malformed`` (the /metrics counter). Anything else aiohttp
logs (a bug in a handler) is one line too.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["BURST", "PERIOD", "RefusalLog", "malformed_reason"]

#: Lines written at most per PERIOD seconds; the others are counted and said with the next line.
BURST = 10
PERIOD = 10.0
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def malformed_reason(exc: BaseException) -> str:
    """A short, bounded reason for a parser error: its class in words (``bad status line``)."""
    return _CAMEL.sub(" ", type(exc).__name__).lower().replace("http", "HTTP").replace("u r l", "URL")


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1] if exc_info else None


class RefusalLog(logging.Logger):
    """The logger of a listener's aiohttp server (see the module docstring)."""

    def __init__(
        self, name: str, *, on_malformed: Callable[[str], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(name)
        self.parent = logging.getLogger("paritycheck.live")  # lines go where the package's go
        self.on_malformed = on_malformed
        self.clock = clock
        self._window_start = -PERIOD
        self._written = 0
        self.suppressed = 0

    def _line(self, text: str) -> None:
        now = self.clock()
        if now - self._window_start >= PERIOD:
            self._window_start, self._written = now, 0
        if self._written >= BURST:
            self.suppressed += 1
            return
        self._written += 1
        if self.suppressed:
            text += f" ({self.suppressed} more not shown)"
            self.suppressed = 0
        super().warning("%s", text)

    def _handle(self, msg: Any, args: tuple[Any, ...], exc_info: Any) -> None:
        exc = _exception(exc_info)
        text = str(msg) % args if args else str(msg)
        remote = text.rpartition(" from ")[2] if " from " in text else "a client"
        if isinstance(exc, HttpProcessingError):
            reason = malformed_reason(exc)
            self.on_malformed(reason)
            self._line(f"listener: refused a malformed request from {remote}: {reason} (answered 400)")
        elif exc is not None:
            self._line(f"listener: {text}: {type(exc).__name__}: {exc}")
        else:
            self._line(f"listener: {text}")

    # What aiohttp's server calls: exception() for an error handling a request, debug() for a
    # BadHttpMethod as the first request of a connection (often TLS or garbage sent to the port).
    def exception(self, msg: Any, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        self._handle(msg, args, exc_info)

    def error(self, msg: Any, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        self._handle(msg, args, exc_info)

    def debug(self, msg: Any, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        exc = _exception(exc_info)
        if isinstance(exc, HttpProcessingError):
            self._handle(msg, args, exc)
