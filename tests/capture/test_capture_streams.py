"""Streams in captures: HAR WebSocket messages, SSE events (text and producer fields), the JSON-lines form."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from paritycheck import capture
from paritycheck.capture.prefetch import read_in_child
from paritycheck.common.sse import Parser, parse_text
from paritycheck.errors import CaptureError
from paritycheck.models import Stream

DATA = Path(__file__).parent.parent / "data" / "har"


def _har(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def _entry(url: str, *, ctype: str = "application/json", text: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "startedDateTime": "2024-01-01T00:00:00Z",
        "request": {"method": "GET", "url": url, "headers": []},
        "response": {
            "status": 200,
            "headers": [{"name": "Content-Type", "value": ctype}],
            "content": {"mimeType": ctype, "text": text},
        },
        **extra,
    }


def _stream(path: Path) -> Stream:
    (exchange,) = list(capture.read(path))
    assert exchange.skip is None
    assert exchange.request.stream is not None
    return exchange.request.stream


def test_sse_events_from_the_response_text(tmp_path: Path) -> None:
    text = ': hello\nevent: activity\nid: 7\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\n'
    stream = _stream(
        _har(tmp_path / "c.har", [_entry("https://x.test/feed", ctype="text/event-stream", text=text)])
    )
    assert stream.kind == "sse" and not stream.truncated
    assert [(m.event, m.id, m.data) for m in stream.messages] == [
        ("activity", "7", '{"a":1}'),
        (None, "7", "line1\nline2"),
    ]


def test_sse_text_cut_mid_event_is_truncated(tmp_path: Path) -> None:
    text = "data: one\n\ndata: tw"
    stream = _stream(
        _har(tmp_path / "c.har", [_entry("https://x.test/feed", ctype="text/event-stream", text=text)])
    )
    assert [m.data for m in stream.messages] == ["one"] and stream.truncated


def test_sse_producer_fields_win_over_text(tmp_path: Path) -> None:
    messages = [
        {"time": 100.5, "eventName": "tick", "eventId": "1", "data": "a"},
        {"time": 101.0, "eventName": "tick", "eventId": "2", "data": "b"},
    ]
    entry = _entry("https://x.test/feed", ctype="text/event-stream", _eventSourceMessages=messages)
    stream = _stream(_har(tmp_path / "c.har", [entry]))
    assert [(m.event, m.id, m.data, m.time) for m in stream.messages] == [
        ("tick", "1", "a", 0.0),
        ("tick", "2", "b", 0.5),
    ]


def test_real_event_stream_har_from_mitmproxy() -> None:
    exchanges = list(capture.read(DATA / "mitmproxy__flows__event_stream.har"))
    assert exchanges and all(e.request.stream is not None for e in exchanges)
    assert {e.request.stream.kind for e in exchanges if e.request.stream} == {"sse"}


def test_websocket_binary_and_other_producers_spelling(tmp_path: Path) -> None:
    messages = [
        {"direction": "outgoing", "time": 5, "opcode": 1, "data": '{"protocol":"json","version":1}\x1e'},
        {"direction": "incoming", "time": 5.25, "opcode": 2, "data": base64.b64encode(b"\x00\x01").decode()},
    ]
    entry = _entry("wss://x.test/hub", webSocketMessages=messages)
    stream = _stream(_har(tmp_path / "c.har", [entry]))
    assert [(m.direction, m.opcode, m.time) for m in stream.messages] == [
        ("send", 1, 0.0),
        ("receive", 2, 0.25),
    ]


def test_truncated_websocket_message_list_keeps_what_came_before(tmp_path: Path) -> None:
    messages = [{"type": "send", "time": 1, "opcode": 1, "data": "hi"}, {"type": "receive"}, None]
    stream = _stream(_har(tmp_path / "c.har", [_entry("wss://x.test/ws", _webSocketMessages=messages)]))
    assert [m.data for m in stream.messages] == ["hi"] and stream.truncated


def test_jsonl_stream_form(tmp_path: Path) -> None:
    line = {
        "method": "GET",
        "url": "wss://x.test/chat",
        "stream": {
            "kind": "websocket",
            "messages": [
                {"direction": "send", "data": "ping", "time": 0},
                {"direction": "receive", "data": "pong", "time": 0.1},
            ],
        },
    }
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    stream = _stream(path)
    assert stream.kind == "websocket" and stream.received == 1 and not stream.truncated


def test_jsonl_bad_stream_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"method": "GET", "url": "/x", "stream": {"kind": "mqtt"}}) + "\n")
    try:
        list(capture.read(path))
    except CaptureError as exc:
        assert "stream.kind" in str(exc) and "entry 0" in str(exc)
    else:
        raise AssertionError("expected a capture error")


def test_streams_survive_the_prefetch_child(tmp_path: Path) -> None:
    messages = [{"type": "send", "time": 1, "opcode": 1, "data": "hi"}]
    path = _har(tmp_path / "c.har", [_entry("wss://x.test/ws", _webSocketMessages=messages)])
    (exchange,) = list(read_in_child(path))
    assert exchange.request.stream == Stream(
        "websocket", tuple(next(iter(capture.read(path))).request.stream.messages)
    )  # type: ignore[union-attr]


def test_sse_parser_follows_whatwg() -> None:
    events = parse_text(
        "retry: 3000\r\nid: 1\r\nevent: a\r\ndata\r\ndata: x\r\n\r\n:comment\n\ndata: y\rnope\r\r"
    )
    assert [(e.event, e.id, e.data, e.retry) for e in events] == [
        ("a", "1", "\nx", 3000),
        ("message", "1", "y", None),
    ]
    parser = Parser()
    assert parser.feed("data: a\r") == [] and [e.data for e in parser.feed("\n\n")] == ["a"]
    assert parser.malformed == 0
    bad = Parser()
    bad.feed("nonsense\nretry: soon\ndata: z\n\n")
    assert bad.malformed == 2


def test_a_close_frame_is_the_streams_close_not_a_message(tmp_path: Path) -> None:
    from paritycheck.capture import CaptureWriter, read
    from paritycheck.models import Close

    entry = {
        "startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
        "request": {"method": "GET", "url": "wss://x.test/ws", "httpVersion": "HTTP/1.1", "headers": [],
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 101, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
        "_webSocketMessages": [
            {"type": "send", "time": 1.0, "opcode": 1, "data": "hi"},
            {"type": "receive", "time": 1.1, "opcode": 9, "data": ""},
            {"type": "receive", "time": 1.2, "opcode": 1, "data": "> hi"},
            {"type": "receive", "time": 1.3, "opcode": 8, "data": "4001 session expired"},
        ],
    }  # fmt: skip
    har = tmp_path / "ws.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    (exchange,) = read(har)
    stream = exchange.request.stream
    assert stream is not None and [m.data for m in stream.messages] == ["hi", "> hi"]
    assert stream.close == Close(4001, "session expired", "server") and not stream.truncated
    # Written back, HAR and JSON lines alike, the close comes back as it was.
    for name in ("again.har", "again.jsonl"):
        with CaptureWriter(tmp_path / name, redact=None) as writer:
            writer.write(exchange)
        (back,) = read(tmp_path / name)
        assert back.request.stream is not None and back.request.stream.close == stream.close, name
