"""The capture writer: HAR and JSON lines that read back identically, streamed, redacted by default."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck import capture
from paritycheck.capture import CaptureWriter
from paritycheck.capture.har import split_url
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Message, Recorded, Request, Stream
from paritycheck.run import open_recording

FORMATS = ["har", "jsonl"]


def _exchange(
    method: str = "GET",
    url: str = "http://127.0.0.1:5000/api/v1/kpis?page=2",
    *,
    headers: tuple[tuple[str, str], ...] = (("accept", "application/json"),),
    body: bytes | None = None,
    recorded: Recorded | None = None,
    started: str | None = "2026-11-26T10:00:00.000Z",
    page: str | None = None,
    skip: str | None = None,
    stream: Stream | None = None,
) -> Exchange:
    _, path, query = split_url(url)
    return Exchange(
        index=0,
        source="",
        request=Request(method, url, path, query, headers, body, stream=stream),
        recorded=recorded,
        started=started,
        page=page,
        skip=skip,
    )


SAMPLES = [
    _exchange(recorded=Recorded(200, (("content-type", "application/json"),), b'{"items": []}')),
    _exchange(
        "POST",
        "http://127.0.0.1:5000/api/v1/projects",
        headers=(("content-type", "application/json"), ("x-tag", "a"), ("x-tag", "b")),
        body='{"name": "Q3 — launch ✓"}'.encode(),
        recorded=Recorded(
            201,
            (("set-cookie", "a=1"), ("set-cookie", "b=2"), ("content-type", "application/json")),
            b'{"id": 123456789012345678901234567890}',
        ),
        page="page_3",
    ),
    _exchange("PUT", "/blob", body=bytes(range(256)), recorded=Recorded(204, (), None), started=None),
    _exchange(recorded=Recorded(200, (("content-type", "image/png"),), b"\x89PNG\r\n\x1a\n\xff\xfe")),
    _exchange("GET", "/no-response", recorded=None),
    _exchange(
        "GET",
        "ws://127.0.0.1:5000/socket",
        stream=Stream("websocket", (Message("send", "hi", 0.0), Message("receive", "aGk=", 0.25, opcode=2))),
    ),
    _exchange("GET", "data:text/plain,hello", skip="not http"),
    _exchange("GET", "/empty", recorded=Recorded(200, (), b"")),
]


def _same(read: list[Exchange], written: list[Exchange], path: Path) -> None:
    assert read == [replace(x, index=i, source=str(path)) for i, x in enumerate(written)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"rec.{fmt}"
    with CaptureWriter(path, redact=None) as writer:
        for exchange in SAMPLES:
            writer.write(exchange)
    assert writer.count == len(SAMPLES)
    assert capture.detect(path) == fmt
    _same(list(capture.read(path)), SAMPLES, path)


def test_har_is_a_har_document(tmp_path: Path) -> None:
    path = tmp_path / "rec.har"
    with CaptureWriter(path, redact=None) as writer:
        writer.write(SAMPLES[0])
    doc = json.loads(path.read_text())
    assert doc["log"]["version"] == "1.2"
    assert doc["log"]["creator"]["name"] == "paritycheck"
    assert len(doc["log"]["entries"]) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_capture_after_every_flush(tmp_path: Path, fmt: str) -> None:
    """A process killed between flushes leaves a capture of everything flushed so far."""
    path = tmp_path / f"rec.{fmt}"
    writer = CaptureWriter(path, redact=None, flush_every=2)
    if fmt == "har":
        assert list(capture.read(path)) == []  # an empty JSON-lines file is "empty", an error
    for n, exchange in enumerate(SAMPLES, start=1):
        writer.write(exchange)
        flushed = n - n % 2
        if flushed:
            _same(list(capture.read(path)), SAMPLES[:flushed], path)
    writer.flush()
    _same(list(capture.read(path)), SAMPLES, path)
    writer.close()
    writer.close()
    _same(list(capture.read(path)), SAMPLES, path)
    with pytest.raises(ValueError, match="closed"):
        writer.write(SAMPLES[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(FORMATS),
    body=st.one_of(st.none(), st.binary(min_size=1, max_size=64), st.text(min_size=1).map(str.encode)),
    rbody=st.one_of(st.none(), st.binary(max_size=64), st.text().map(str.encode)),
    value=st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=20),
    status=st.integers(100, 599),
)
def test_round_trip_any_body(
    tmp_path: Path, fmt: str, body: bytes | None, rbody: bytes | None, value: str, status: int
) -> None:
    exchange = _exchange(
        "POST",
        "/x?q=1",
        headers=(("x-value", value),),
        body=body,
        recorded=Recorded(status, (("x-value", value),), rbody),
    )
    path = tmp_path / f"any.{fmt}"
    with CaptureWriter(path, redact=None) as writer:
        writer.write(exchange)
    _same(list(capture.read(path)), [exchange], path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_open_recording_redacts_by_default(tmp_path: Path, fmt: str) -> None:
    secret = "s3cr3t-token-value"
    exchange = _exchange(
        "POST",
        f"http://127.0.0.1:5000/login?api_key={secret}&page=1",
        headers=(
            ("authorization", f"Bearer {secret}"),
            ("cookie", f"sid={secret}"),
            ("content-type", "application/json"),
        ),
        body=json.dumps({"email": "a@b.c", "password": secret}).encode(),
        recorded=Recorded(
            200,
            (("set-cookie", f"sid={secret}; Path=/"), ("content-type", "application/json")),
            json.dumps({"accessToken": secret, "user": 7}).encode(),
        ),
    )
    path = tmp_path / f"rec.{fmt}"
    with open_recording(path) as writer:
        writer.write(exchange)
    raw = path.read_text()
    assert secret not in raw
    (back,) = capture.read(path)
    name, _, rest = back.request.query.partition("=")
    assert name == "api_key" and rest.startswith("redacted-") and rest.endswith("&page=1")
    assert back.request.path == "/login"
    answer = json.loads(back.recorded.body or b"")  # type: ignore[union-attr]
    assert answer["user"] == 7 and answer["accessToken"].startswith("[redacted")

    opted_out = tmp_path / f"raw.{fmt}"
    with open_recording(opted_out, redact=False) as writer:
        writer.write(exchange)
    (kept,) = capture.read(opted_out)
    assert kept.request == exchange.request


def test_unknown_extension_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"rec\.txt: has no capture extension") as info:
        CaptureWriter(tmp_path / "rec.txt", redact=None)
    assert info.value.hint == "name the file .har, .jsonl or .ndjson"
    with pytest.raises(CaptureError, match="cannot be written"):
        CaptureWriter(tmp_path / "missing" / "rec.har", redact=None)


@pytest.mark.parametrize("suffix", [".har", ".jsonl"])
def test_a_comment_is_kept_with_its_entry_and_the_file_still_reads_back(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    with CaptureWriter(path, redact=None) as writer:
        writer.write(SAMPLES[0], comment="GET /api/v1/kpis: no-credentials: no credentials")
    text = path.read_text(encoding="utf-8")
    assert "no-credentials: no credentials" in text
    _same(list(capture.read(path)), [SAMPLES[0]], path)
