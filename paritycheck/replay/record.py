"""The stream record one side's replay builds: its events, close and timings, then a ``Reply``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.common.jsonparse import dumps, loads
from paritycheck.models import STREAM_MEDIA, Headers, Reply

__all__ = ["Limits", "Record", "event_data"]


@dataclass(frozen=True, slots=True)
class Limits:
    """When reading stops: ``[streams]`` plus the endpoint's own ``max_events`` etc."""

    max_events: int = 100
    idle_seconds: float = 2.0
    max_seconds: float = 30.0
    max_message_bytes: int = 1024 * 1024


def event_data(text: str) -> Any:
    """An event's data: a JSON object or array parsed (so that secrets in it are redacted by key before it
    is stored, and reports show its structure), anything else kept as text."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return loads(text)
        except (ValueError, RecursionError):
            pass
    return text


class Record:
    """What one side's stream produced, built up while reading, then turned into a ``Reply``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.status = 0
        self.headers: Headers = ()
        self.events: list[dict[str, Any]] = []
        self.close: dict[str, Any] | None = None
        self.end = ""
        self.first_event_ms: float | None = None
        self.round_trips_ms: list[float] = []
        self.malformed_lines = 0
        self.body: str | None = None
        self.error: str | None = None

    def reply(self, elapsed_ms: float) -> Reply:
        doc: dict[str, Any] = {
            "stream": self.kind,
            "events": self.events,
            "close": self.close,
            "end": self.end,
            "first_event_ms": None if self.first_event_ms is None else round(self.first_event_ms, 3),
            "round_trips_ms": [round(x, 3) for x in self.round_trips_ms],
            "malformed_lines": self.malformed_lines,
        }
        if self.body is not None:
            doc["body"] = self.body
        headers = tuple((k, v) for k, v in self.headers if k != "content-type")
        return Reply(
            status=self.status,
            headers=(*headers, ("content-type", STREAM_MEDIA)),
            body=dumps(doc),
            elapsed_ms=self.first_event_ms if self.first_event_ms is not None else elapsed_ms,
            error=self.error,
        )
