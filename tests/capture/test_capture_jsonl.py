"""JSON-lines captures: format detection, fields, and errors that name the line."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from paritycheck import capture
from paritycheck.errors import CaptureError


def _write(path: Path, objects: list[Any]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def test_fields_and_both_header_forms(tmp_path: Path) -> None:
    blob = bytes(range(200, 256))
    lines = [
        {
            "method": "post",
            "url": "https://api.example.com/v1/orders?dry=1",
            "headers": {"Content-Type": "application/json", "X-Tag": ["a", "b"], "Host": "api.example.com"},
            "body": '{"sku": 7}',
            "started": "2024-05-01T10:00:00Z",
            "page": "checkout",
            "response": {"status": 201, "headers": [["Content-Type", "application/json"]], "body": "{}"},
        },
        {
            "method": "PUT",
            "url": "/v1/blob",
            "headers": [["Accept", "*/*"]],
            "body_base64": base64.b64encode(blob).decode(),
        },
    ]
    first, second = capture.read(_write(tmp_path / "c.jsonl", lines))
    assert first.index == 0
    assert first.source == str(tmp_path / "c.jsonl")
    assert first.request.method == "POST"
    assert (first.request.path, first.request.query) == ("/v1/orders", "dry=1")
    assert first.request.headers == (("content-type", "application/json"), ("x-tag", "a"), ("x-tag", "b"))
    assert first.request.body == b'{"sku": 7}'
    assert (first.started, first.page) == ("2024-05-01T10:00:00Z", "checkout")
    assert first.recorded is not None
    assert first.recorded.status == 201
    assert first.recorded.headers == (("content-type", "application/json"),)
    assert first.recorded.body == b"{}"
    assert second.index == 1
    assert second.request.path == "/v1/blob"
    assert second.request.body == blob
    assert second.recorded is None


def test_detected_by_content_whatever_the_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "capture.txt", [{"url": "https://x.test/a", "method": "GET"}] * 3)
    assert capture.detect(path) == "jsonl"
    assert [e.request.path for e in capture.read(path)] == ["/a"] * 3


def test_blank_lines_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "c.ndjson"
    path.write_bytes(
        b'\xef\xbb\xbf{"method":"GET","url":"https://x.test/a"}\r\n\r\n{"method":"GET","url":"https://x.test/b"}'
    )
    assert [e.request.path for e in capture.read(path)] == ["/a", "/b"]
    assert [e.index for e in capture.read(path)] == [0, 1]


def test_skips_like_har(tmp_path: Path) -> None:
    lines = [
        {"method": "GET", "url": "wss://x.test/ws"},
        {"method": "GET", "url": "https://x.test/ws", "headers": {"Upgrade": "websocket"}},
        {"method": "GET", "url": "data:text/plain,hi"},
        {"method": "GET", "url": "https://x.test/ok"},
        {"method": "GET /ADMIN/SECRET?X=", "url": "https://x.test/api/v1/public"},
    ]
    exchanges = list(capture.read(_write(tmp_path / "c.jsonl", lines)))
    not_a_token = "request method is not an HTTP token"
    assert [e.skip for e in exchanges] == [None, None, "not http", None, not_a_token]
    assert [e.request.stream.kind if e.request.stream else None for e in exchanges] == [
        "websocket",
        "websocket",
        None,
        None,
        None,
    ]


def test_big_integers_stay_integers(tmp_path: Path) -> None:
    big = 2**90
    path = tmp_path / "c.jsonl"
    path.write_text(f'{{"method":"GET","url":"https://x.test/","extra":{big}}}\n', encoding="utf-8")
    assert capture.detect(path) == "jsonl"
    assert len(list(capture.read(path))) == 1
    from paritycheck.capture import parse_line

    assert parse_line(f'{{"n": {big}}}'.encode()) == {"n": big}


def test_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"method":"GET","url":"https://x.test/a"}\n{"method":"GET","url":"https://x.te', encoding="utf-8"
    )
    seen = []
    with pytest.raises(CaptureError, match="line 2") as info:
        for exchange in capture.read(path):
            seen.append(exchange.index)
    assert seen == [0]
    assert info.value.entry == 1
    assert "cut short" in str(info.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"url": "https://x.test/"}', "no method"),
        ('{"method": "GET"}', "no url"),
        ("[1, 2]", "not a JSON object"),
        ('{"method": "GET", "url": "/", "headers": 3}', "headers"),
        ('{"method": "GET", "url": "/", "headers": [["a"]]}', "pairs"),
        ('{"method": "GET", "url": "/", "body": 3}', "body_base64"),
        ('{"method": "GET", "url": "/", "body_base64": "@@@"}', "base64"),
        ('{"method": "GET", "url": "/", "response": {"status": "ok"}}', "status"),
        ('{"method": "GET", "url": "/", "response": 5}', "response"),
    ],
)
def test_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"method":"GET","url":"/ok"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CaptureError, match=message) as info:
        list(capture.read(path))
    assert info.value.entry == 1
    assert info.value.hint


def test_big_integers_stay_exact_and_deep_nesting_is_a_capture_error(tmp_path: Path) -> None:
    from paritycheck.capture import parse_line

    assert parse_line(b'{"id": 123456789012345678901234567890}') == {"id": 123456789012345678901234567890}
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(b'{"method": "GET", "url": "/a"}\n' + b"[" * 100_000 + b"\n")
    read = capture.read(deep)
    assert next(read).request.path == "/a"
    with pytest.raises(CaptureError) as info:
        next(read)
    assert info.value.entry == 1
