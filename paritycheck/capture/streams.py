"""Streams in captures: the messages of a WebSocket entry and the events of an SSE response.

Read from what each producer writes (docs/streams.md has the table):

- WebSocket: Chrome's and mitmproxy's ``_webSocketMessages`` (``type`` send/receive, ``time`` in epoch
  seconds, ``opcode`` 1 text / 2 binary base64, ``data``); the spellings ``_websocketMessages`` and
  ``webSocketMessages`` and the direction words ``outgoing``/``incoming`` and ``request``/``response``
  of other writers are read the same way.
- SSE (a ``text/event-stream`` response): the producer's event list where present
  (``_eventSourceMessages``, ``_eventStreamMessages`` or ``_eventStream``, items with ``data`` and
  ``eventName``/``event``/``type`` and ``eventId``/``id``), else the events parsed from the response text.
- JSON lines: a ``stream`` object, ``{"kind": "websocket" | "sse", "messages": [...], "truncated": bool}``,
  whose messages have ``direction`` (or ``type``), ``data``, and optional ``time``, ``opcode``,
  ``event``, ``id``.

A message list that is cut short (an item that is not a message, an SSE text whose last event never
ended, or a writer's ``truncated`` flag) keeps the messages before the cut and sets
``Stream.truncated``: the replay then reads by the configured limits, not the captured count.

A WebSocket's close frame, where the capture has one, is ``Stream.close``: a message item with
``opcode`` 8 (its ``data`` a ``{"code", "reason"}`` object or ``"4001 reason"`` text; its direction says who
closed), a HAR entry's ``_webSocketClose`` or a JSON-lines ``stream.close`` object (``code``, ``reason``,
``by``: ``server`` or ``client``). Ping and pong frames (opcodes 9 and 10) are not messages.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from paritycheck.common.sse import Parser
from paritycheck.models import Close, Headers, Message, Stream

__all__ = ["close_frame", "har_stream", "jsonl_stream", "message_list"]

_WS_KEYS = ("_webSocketMessages", "_websocketMessages", "webSocketMessages")
_CLOSE_KEYS = ("_webSocketClose", "_websocketClose", "webSocketClose")
#: Control frames: close, ping, pong. Not messages of the conversation.
_CLOSE, _CONTROL = 8, (8, 9, 10)
_CODE_TEXT = re.compile(r"\s*(\d{4})\b[\s:,-]*(.*)", re.DOTALL)
_SSE_KEYS = ("_eventSourceMessages", "_eventStreamMessages", "_eventStream")
_DIRECTIONS = {
    "send": "send",
    "outgoing": "send",
    "request": "send",
    "client": "send",
    "receive": "receive",
    "incoming": "receive",
    "response": "receive",
    "server": "receive",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def message_list(raw: Any, *, sse: bool = False) -> tuple[tuple[Message, ...], bool]:
    """The messages of a producer's list, times made relative to the first; and whether it was cut."""
    if not isinstance(raw, list):
        return (), raw is not None
    out: list[Message] = []
    start: float | None = None
    for item in raw:
        if not sse and isinstance(item, dict) and item.get("opcode") in _CONTROL:
            continue  # a close, ping or pong frame: close_frame() reads the close
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            return tuple(out), True
        direction = "receive" if sse else _DIRECTIONS.get(str(item.get("direction", item.get("type", ""))))
        if direction is None:
            return tuple(out), True
        time = _number(item.get("time"))
        if time is None:
            time = _number(item.get("timestamp"))
        if time is not None and start is None:
            start = time
        opcode = item.get("opcode", 1)
        event = item.get("eventName", item.get("event", item.get("type") if sse else None))
        ident = item.get("eventId", item.get("id"))
        out.append(
            Message(
                direction=direction,
                data=item["data"],
                time=max(0.0, time - start) if time is not None and start is not None else 0.0,
                opcode=2 if opcode == 2 else 1,
                event=event if isinstance(event, str) and event else None,
                id=str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None,
            )
        )
    return tuple(out), False


def _close(raw: Any, *, by: str = "") -> Close | None:
    """A close frame from ``{"code", "reason", "by"}``, ``"4001 reason"`` text or a bare code."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                return Close(None, text, by)
        else:
            match = _CODE_TEXT.fullmatch(text)
            return Close(int(match[1]), match[2].strip(), by) if match else Close(None, text, by)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        return Close(int(raw), "", by)
    if not isinstance(raw, dict):
        return None
    code = raw.get("code", raw.get("closeCode"))
    reason = raw.get("reason", raw.get("closeReason", ""))
    who = raw.get("by", by)
    return Close(
        int(code) if isinstance(code, int | Decimal) and not isinstance(code, bool) else None,
        reason if isinstance(reason, str) else "",
        who if who in ("server", "client") else by,
    )


def close_frame(raw: Any, extra: Any = None) -> Close | None:
    """The close frame of a WebSocket message list (an opcode 8 item), else of ``extra`` (an entry's
    ``_webSocketClose`` or a ``stream.close``)."""
    found = _close(extra) if extra is not None else None
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict) and item.get("opcode") == _CLOSE:
            direction = _DIRECTIONS.get(str(item.get("direction", item.get("type", ""))))
            by = {"send": "client", "receive": "server"}.get(direction or "", "")
            found = _close(item.get("data", ""), by=by) or Close(None, "", by)
    return found


def _sse_from_text(text: str) -> tuple[tuple[Message, ...], bool]:
    parser = Parser()
    events = parser.feed(text)
    cut = parser.pending > 0
    messages = tuple(
        Message("receive", e.data, event=None if e.event == "message" else e.event, id=e.id) for e in events
    )
    return messages, cut


def is_event_stream(headers: Headers) -> bool:
    return any(k == "content-type" and v.lower().startswith("text/event-stream") for k, v in headers)


def har_stream(
    entry: dict[str, Any], *, websocket: bool, response_headers: Headers, text: str | None
) -> Stream | None:
    """The stream of a HAR entry, or None for an ordinary request."""
    truncated_flag = bool(entry.get("_webSocketMessagesTruncated") or entry.get("_truncated"))
    extra = next((entry[k] for k in _CLOSE_KEYS if k in entry), None)
    for key in _WS_KEYS:
        if key in entry:
            messages, cut = message_list(entry[key])
            close = close_frame(entry[key], extra)
            return Stream("websocket", messages, truncated=cut or truncated_flag, close=close)
    if websocket:
        return Stream("websocket", (), truncated=truncated_flag, close=close_frame(None, extra))
    for key in _SSE_KEYS:
        if key in entry:
            messages, cut = message_list(entry[key], sse=True)
            return Stream("sse", messages, truncated=cut or truncated_flag)
    accept = entry.get("request", {}).get("headers")
    asked = isinstance(accept, list) and any(
        isinstance(h, dict)
        and str(h.get("name", "")).lower() == "accept"
        and "text/event-stream" in str(h.get("value", ""))
        for h in accept
    )
    if is_event_stream(response_headers) or asked:
        messages, cut = _sse_from_text(text or "")
        return Stream("sse", messages, truncated=cut or truncated_flag)
    return None


def jsonl_stream(raw: Any, *, websocket: bool) -> Stream | str | None:
    """The ``stream`` object of a JSON-lines capture line (a string is what is wrong with it)."""
    if raw is None:
        return Stream("websocket") if websocket else None
    if not isinstance(raw, dict):
        return "stream must be an object with kind and messages"
    kind = raw.get("kind", "websocket" if websocket else None)
    if kind not in ("sse", "websocket"):
        return 'stream.kind must be "sse" or "websocket"'
    messages, cut = message_list(raw.get("messages", []), sse=kind == "sse")
    close = close_frame(raw.get("messages"), raw.get("close")) if kind == "websocket" else None
    return Stream(kind, messages, truncated=cut or bool(raw.get("truncated")), close=close)
