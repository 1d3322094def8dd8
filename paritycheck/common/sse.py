"""Server-sent events parsed as the WHATWG HTML spec says (9.2.6 "Interpreting an event stream").

Shared by the capture readers (a HAR's recorded ``text/event-stream`` text) and the replay (the live
stream), so a recorded event and a replayed one are cut the same way. Lines end in CRLF, LF or CR;
``:`` starts a comment; ``data`` lines join with ``\\n``; ``event``, ``id`` and ``retry`` are kept; an
unknown field or a malformed line (no colon, a bad ``retry``) is ignored, as a browser does, but counted
in :attr:`Parser.malformed` so a report can say the stream had lines a browser drops.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Event", "Parser", "parse_text"]


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event: ``event`` defaults to ``message``; ``id`` is the last event id seen."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class Parser:
    """Incremental: :meth:`feed` bytes as they arrive, get back the events they complete."""

    def __init__(self) -> None:
        self._buf = ""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._first = True
        self._cr = False
        self.malformed = 0

    def feed(self, chunk: str) -> list[Event]:
        if self._first and chunk:
            chunk = chunk.removeprefix("\ufeff")
            self._first = False
        if self._cr and chunk.startswith("\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two chunks
        self._cr = chunk.endswith("\r")
        text = self._buf + chunk
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buf = lines.pop()
        out: list[Event] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                out.append(event)
        return out

    @property
    def pending(self) -> int:
        """Characters of an event not yet dispatched (bounds a message that never ends)."""
        return len(self._buf) + sum(len(d) for d in self._data)

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if not colon:
            self.malformed += 1
            value = ""
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
            else:
                self.malformed += 1
        elif colon:
            self.malformed += 1  # an unknown field
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = ""
            return None
        event = Event("\n".join(self._data), self._event or "message", self._id, self._retry)
        self._data = []
        self._event = ""
        self._retry = None
        return event


def parse_text(text: str) -> list[Event]:
    """Every complete event of a recorded stream; an unterminated last event is dropped, as a browser does."""
    return Parser().feed(text)
