"""GoReplay .gor captures: records paired by id, gzip, detection, one-line errors, flat memory, replay."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck import capture
from paritycheck.capture import goreplay
from paritycheck.errors import CaptureError, ExitStatus
from tests import gorutil
from tests.clirun import invoke
from tests.harutil import replay_args
from tests.servers import json_serve


@pytest.mark.parametrize("compress", [False, True])
def test_requests_are_paired_with_their_original_responses(tmp_path: Path, compress: bool) -> None:
    name = "traffic.gor.gz" if compress else "traffic.gor"
    path = gorutil.write(tmp_path / name, gorutil.records(30), compress=compress)
    assert capture.detect(path) == "gor"
    exchanges = list(capture.read(path))
    expected = list(gorutil.traffic(30))
    assert [x.index for x in exchanges] == list(range(30))  # one per request, type 3 ignored
    for exchange, (n, _, _) in zip(exchanges, expected, strict=True):
        request, recorded = exchange.request, exchange.recorded
        assert recorded is not None
        assert exchange.source == str(path)
        assert request.url.startswith("http://api.internal:8080/api/v1/")
        assert exchange.started == f"2025-11-26T09:40:00.{n:03d}Z"
        assert ("host", "api.internal:8080") not in request.headers  # the replaying client sets Host
        answer = json.loads(recorded.body or b"")
        if request.method == "POST":
            assert recorded.status == 201 and answer["id"] == n  # chunked bodies are de-chunked
            assert json.loads(request.body or b"")["items"] == [n, n + 1]
            assert request.query == "src=app"
        else:
            user = int(request.path.rsplit("/", 1)[1])
            assert recorded.status == 200 and answer["id"] == user  # gzip bodies are decoded
            assert request.body is None
            assert request.headers[-1] == ("authorization", f"Bearer t{user}")


def test_detected_by_content_whatever_the_extension(tmp_path: Path) -> None:
    path = gorutil.write(tmp_path / "requests_0.log", gorutil.records(3))
    assert capture.detect(path) == "gor"
    zipped = gorutil.write(tmp_path / "requests_0.bin", gorutil.records(3), compress=True)
    assert capture.detect(zipped) == "gor"
    assert len(list(capture.read(zipped))) == 3


def test_old_headers_orphans_and_out_of_order_responses(tmp_path: Path) -> None:
    get = gorutil.request("GET", "/a")
    ok = gorutil.response(200, b'{"a": 1}')
    chunks = [
        gorutil.record(2, "bb", 2, gorutil.response(404, b"{}")),  # before its request
        gorutil.record(1, "aa", 1, get, latency=None),  # GoReplay < 1.0: no latency field
        gorutil.record(1, "bb", 2, gorutil.request("GET", "/b")),
        gorutil.record(1, "cc", 3, gorutil.request("HEAD", "/c")),  # its response never came
        gorutil.record(2, "zz", 4, ok),  # a response without a request
        gorutil.record(2, "aa", 5, ok),
        gorutil.record(3, "aa", 6, gorutil.response(500, b"{}")),  # the replayed response: ignored
    ]
    path = gorutil.write(tmp_path / "x.gor", chunks)
    a, b, c = capture.read(path)
    assert (a.request.path, a.recorded and a.recorded.status) == ("/a", 200)
    assert (b.request.path, b.recorded and b.recorded.status) == ("/b", 404)
    assert (c.request.method, c.recorded) == ("HEAD", None)


def test_pending_requests_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(goreplay, "MAX_PENDING", 2)
    chunks = [gorutil.record(1, f"{i:x}", i, gorutil.request("GET", f"/{i}")) for i in range(5)]
    chunks.append(gorutil.record(2, "4", 9, gorutil.response(200, b"{}")))
    exchanges = list(capture.read(gorutil.write(tmp_path / "x.gor", chunks)))
    assert [x.request.path for x in exchanges] == ["/0", "/1", "/2", "/3", "/4"]
    assert [x.recorded is not None for x in exchanges] == [False] * 4 + [True]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([b"hello world\nGET / HTTP/1.1\r\n\r\n" + gorutil.SEPARATOR], "record 1 does not start with"),
        (
            [
                gorutil.record(1, "a1", 1, gorutil.request("GET", "/")),
                gorutil.record(1, "a2", 2, b"garbage\r\n\r\n"),
            ],
            r"record 2 \(id a2\) has no HTTP request line",
        ),
        (  # a method that is not a token never passes for one: the request line does not parse
            [gorutil.record(1, "a1", 1, gorutil.request("GET /ADMIN/SECRET?X=", "/api/v1/public"))],
            r"record 1 \(id a1\) has no HTTP request line",
        ),
        ([gorutil.record(2, "a1", 1, b"HTTP/1.1 OK\r\n\r\n")], r"record 1 \(id a1\) has no HTTP status line"),
        (
            [gorutil.record(1, "a1", 1, gorutil.request("POST", "/", body=b"0123456789")[:-4])],
            r"record 1 \(id a1\) has a body of 6 bytes where Content-Length says 10",
        ),
        ([gorutil.record(1, "a1", 1, b"GET / HTTP/1.1\r\nno colon\r\n\r\n")], "malformed header line"),
        ([gorutil.record(1, "a1", 1, b"GET / HTTP/1.1\r\nHost: x\r\n")], "no end of HTTP headers"),
        (
            [gorutil.record(1, "a1", 1, gorutil.request("GET", "/"))] * 2,
            r"record 2 \(id a1\) repeats a request id",
        ),
    ],
)
def test_malformed_records_are_one_line_errors(tmp_path: Path, records: list[bytes], message: str) -> None:
    path = gorutil.write(tmp_path / "bad.gor", records)
    with pytest.raises(CaptureError, match=message) as info:
        list(capture.read(path))
    assert str(info.value).startswith(f"{path}: record")
    assert "\n" not in str(info.value)
    assert info.value.hint


def test_a_cut_gzip_file_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(gorutil.records(400)))
    path = tmp_path / "cut.gor.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    seen = []
    with pytest.raises(CaptureError, match="not a valid gzip file"):
        for exchange in capture.read(path):
            seen.append(exchange)
    assert len(seen) > 100


def test_other_gzip_files_are_not_taken_for_gor(tmp_path: Path) -> None:
    path = tmp_path / "capture.har.gz"
    path.write_bytes(gzip.compress(b'{"log": {"entries": []}}'))
    with pytest.raises(CaptureError, match="is not a HAR, JSON-lines or GoReplay capture"):
        capture.read(path)
    damaged = tmp_path / "d.gor.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    with pytest.raises(CaptureError, match="not a valid gzip file"):
        list(capture.read(damaged))


def test_empty_gor_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gor.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(CaptureError, match="is empty"):
        capture.read(path)


def test_streamed_at_flat_memory(tmp_path: Path) -> None:
    # 3,000 exchanges of 10 KB bodies: the same 30 MB as 6,000 of 5 KB, at half the CPU under tracemalloc.
    path = gorutil.write(tmp_path / "big.gor", gorutil.records(3000, body_size=10_000))
    size = path.stat().st_size
    assert size > 30_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in capture.read(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000
    assert peak < size / 40


def test_read_in_a_child_process_too(tmp_path: Path) -> None:
    path = gorutil.write(tmp_path / "t.gor.gz", gorutil.records(50), compress=True)
    assert list(capture.read_in_child(path)) == list(capture.read(path))


def test_replay_reads_gor_files(tmp_path: Path) -> None:
    paths = ["/api/users/1", "/api/users/2", "/health"]
    chunks = []
    for n, path in enumerate(paths):
        chunks.append(gorutil.record(1, f"{n:024x}", n, gorutil.request("GET", path)))
        chunks.append(
            gorutil.record(2, f"{n:024x}", n, gorutil.response(200, json.dumps({"p": path}).encode()))
        )
    gor = gorutil.write(tmp_path / "prod.gor", chunks)
    routes = {path: {"path": path} for path in paths}
    with json_serve(routes) as legacy, json_serve(routes) as cand:
        result = invoke(*replay_args(str(gor), legacy.url, cand.url), "--db", "r.db", "--json", cwd=tmp_path)
    assert result.exit_code == ExitStatus.OK, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 3 == summary["matched"]
    assert sorted(cand.paths) == paths


_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=30
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    segments=st.lists(_TOKEN, min_size=1, max_size=4),
    query=st.one_of(st.just(""), _TOKEN.map(lambda t: f"q={t}&page=2")),
    headers=st.lists(st.tuples(_TOKEN.map(lambda t: "x-" + t), _VALUE), max_size=5),
    body=st.binary(max_size=300),
    status=st.integers(200, 599).filter(lambda s: s not in (204, 304)),
    answer=st.binary(max_size=300),
    chunked=st.booleans(),
    compressed=st.booleans(),
)
def test_any_exchange_reads_back_as_sent(
    tmp_path: Path,
    method: str,
    segments: list[str],
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    status: int,
    answer: bytes,
    chunked: bool,
    compressed: bool,
) -> None:
    target = "/" + "/".join(segments) + (f"?{query}" if query else "")
    lines = [f"{method} {target} HTTP/1.1", "Host: api.internal"] + [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    response = gorutil.response(status, answer, chunked=chunked, gzipped=compressed)
    path = gorutil.write(
        tmp_path / "p.gor",
        [gorutil.record(1, "ab12", 7, request), gorutil.record(2, "ab12", 8, response)],
        compress=compressed,
    )
    (exchange,) = capture.read(path)
    assert exchange.request.method == method
    assert exchange.request.target == target
    assert exchange.request.headers == tuple((k, v.strip()) for k, v in headers)
    assert exchange.request.body == (body or None)
    assert exchange.recorded is not None
    assert exchange.recorded.status == status
    assert exchange.recorded.body == answer
