"""HAR reading: real exports from browsers and proxies, and hand-made edge cases."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck import capture
from paritycheck.capture import DROPPED_REQUEST_HEADERS
from paritycheck.capture.har import split_url, split_url_slowly
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, header

DATA = Path(__file__).resolve().parent.parent / "data" / "har"
HAR_FILES = sorted(DATA.glob("*.har"))


def _load_json(path: Path) -> Any:
    """The oracle: the whole file parsed with the standard library."""
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _entries_or_none(path: Path) -> list[Any] | None:
    try:
        doc = _load_json(path)
    except ValueError:
        return None
    entries = doc.get("log", {}).get("entries") if isinstance(doc, dict) else None
    return entries if isinstance(entries, list) else None


def _entry(i: int, **request: Any) -> dict[str, Any]:
    req: dict[str, Any] = {
        "method": "GET",
        "url": f"https://api.example.com/api/v1/items/{i}",
        "httpVersion": "h2",
        "headers": [{"name": "accept", "value": "application/json"}],
        "queryString": [],
        "cookies": [],
    }
    req.update(request)
    return {
        "startedDateTime": f"2024-01-01T00:00:0{i % 10}Z",
        "request": req,
        "response": {
            "status": 200,
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": json.dumps({"id": i})},
        },
    }


def _write_har(path: Path, entries: list[Any]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    return path


def _one(path: Path) -> Exchange:
    (exchange,) = capture.read(path)
    return exchange


@pytest.mark.parametrize("path", HAR_FILES, ids=[p.name for p in HAR_FILES])
def test_every_real_har_loads_completely_or_is_rejected_clearly(path: Path) -> None:
    entries = _entries_or_none(path)
    if entries is None:
        with pytest.raises(CaptureError) as info:
            list(capture.read(path))
        assert str(path) in str(info.value)
        assert info.value.hint
        assert "\n" not in str(info.value)
        return
    exchanges = list(capture.read(path))
    assert len(exchanges) == len(entries)
    assert [e.index for e in exchanges] == list(range(len(entries)))
    for exchange, entry in zip(exchanges, entries, strict=True):
        assert exchange.source == str(path)
        assert exchange.request.url == entry["request"]["url"]
        assert exchange.request.method == entry["request"]["method"]
        assert exchange.started == entry.get("startedDateTime")
        assert exchange.page == entry.get("pageref")
        for name, _ in exchange.request.headers:
            assert name == name.lower()
            assert not name.startswith(":")
            assert name not in DROPPED_REQUEST_HEADERS


def test_real_files_cover_the_rejections() -> None:
    rejected = {p.name for p in HAR_FILES if _entries_or_none(p) is None}
    assert "mitmproxy__corrupted_har__brokenfile.har" in rejected
    assert len(rejected) < len(HAR_FILES)


def test_brokenfile_is_reported_as_not_json() -> None:
    path = DATA / "mitmproxy__corrupted_har__brokenfile.har"
    with pytest.raises(CaptureError, match="not valid JSON") as info:
        capture.read(path).__next__()
    assert info.value.entry is None


def test_chrome_export_pseudo_headers_base64_and_status_0() -> None:
    path = DATA / "mitmproxy__har_files__chrome.har"
    entries = _entries_or_none(path)
    assert entries is not None
    exchanges = list(capture.read(path))
    for exchange, entry in zip(exchanges, entries, strict=True):
        response = entry["response"]
        if response["status"] == 0:
            assert exchange.recorded is None
            continue
        assert exchange.recorded is not None
        assert exchange.recorded.status == response["status"]
        content = response["content"]
        if content.get("encoding") == "base64":
            assert exchange.recorded.body == base64.b64decode(content["text"])
        assert all(not name.startswith(":") for name, _ in exchange.recorded.headers)
    assert any(e.recorded is None for e in exchanges)


def test_firefox_gzip_encoded_body_is_taken_as_already_decoded() -> None:
    path = DATA / "mitmproxy__har_files__firefox.har"
    entries = _entries_or_none(path)
    assert entries is not None
    checked = 0
    for exchange, entry in zip(capture.read(path), entries, strict=True):
        assert exchange.recorded is not None
        if header(exchange.recorded.headers, "content-encoding") == "gzip":
            assert exchange.recorded.body == entry["response"]["content"]["text"].encode()
            checked += 1
    assert checked


def test_repeated_headers_stay_repeated() -> None:
    path = DATA / "mitmproxy__flows__diff_data.har"
    exchanges = list(capture.read(path))
    cookie_counts = [sum(1 for n, _ in e.request.headers if n == "cookie") for e in exchanges]
    assert max(cookie_counts) > 1
    assert any(
        e.recorded is not None and sum(1 for n, _ in e.recorded.headers if n == "vary") > 1 for e in exchanges
    )


def test_post_bodies_and_bom() -> None:
    for name in ("mitmproxy__har_files__postdata.har", "mitmproxy__har_files__with-bom.har"):
        path = DATA / name
        entries = _entries_or_none(path)
        assert entries is not None
        exchange = _one(path)
        assert exchange.request.method == "POST"
        assert exchange.request.body == entries[0]["request"]["postData"]["text"].encode()
    assert (DATA / "mitmproxy__har_files__with-bom.har").read_bytes().startswith(b"\xef\xbb\xbf")


def test_real_websocket_entries_are_read_as_streams() -> None:
    exchanges = list(capture.read(DATA / "mitmproxy__flows__websocket.har"))
    assert exchanges
    assert {e.skip for e in exchanges} == {None}
    streams = [e.request.stream for e in exchanges]
    assert all(s is not None and s.kind == "websocket" for s in streams)
    last = streams[-1]
    assert last is not None
    assert [(m.direction, m.data) for m in last.messages] == [
        ("receive", '{"error":"Unknown api key"}'),
        ("send", "foo"),
        ("send", "bar"),
    ]
    assert last.messages[0].time == 0.0 and 8.0 < last.messages[1].time < 9.0


def test_failed_flows_have_no_recorded_response() -> None:
    exchanges = list(capture.read(DATA / "mitmproxy__flows__incomplete_log.har"))
    assert exchanges
    assert all(e.recorded is None and e.skip is None for e in exchanges)


def test_request_fields(tmp_path: Path) -> None:
    headers = [
        {"name": ":authority", "value": "api.example.com"},
        {"name": "Host", "value": "api.example.com"},
        {"name": "Accept-Encoding", "value": "gzip"},
        {"name": "Connection", "value": "keep-alive"},
        {"name": "Content-Length", "value": "3"},
        {"name": "Authorization", "value": "Bearer t0ken"},
        {"name": "Cookie", "value": "a=1"},
        {"name": "X-Tag", "value": "one"},
        {"name": "x-tag", "value": "two"},
    ]
    entry = _entry(
        0,
        method="post",
        url="https://api.example.com/api/v1/caf%C3%A9/items/?q=a%20b#frag",
        headers=headers,
        postData={"mimeType": "application/json", "text": '{"a":1}'},
    )
    entry["pageref"] = "page_1"
    exchange = _one(_write_har(tmp_path / "c.har", [entry]))
    request = exchange.request
    assert request.method == "POST"
    assert request.url == entry["request"]["url"]
    assert request.path == "/api/v1/caf%C3%A9/items/"
    assert request.query == "q=a%20b"
    assert request.headers == (
        ("authorization", "Bearer t0ken"),
        ("cookie", "a=1"),
        ("x-tag", "one"),
        ("x-tag", "two"),
    )
    assert request.body == b'{"a":1}'
    assert exchange.page == "page_1"
    assert exchange.started == entry["startedDateTime"]
    assert exchange.recorded is not None
    assert exchange.recorded.headers == (("content-type", "application/json"),)


def test_query_string_list_is_used_when_the_url_has_none(tmp_path: Path) -> None:
    entry = _entry(0, queryString=[{"name": "q", "value": "a b/c"}, {"name": "n", "value": "1"}])
    exchange = _one(_write_har(tmp_path / "c.har", [entry]))
    assert exchange.request.query == "q=a%20b%2Fc&n=1"


def test_form_params_are_encoded_when_text_is_absent(tmp_path: Path) -> None:
    post = {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "k", "value": "v w"}]}
    exchange = _one(_write_har(tmp_path / "c.har", [_entry(0, method="POST", postData=post)]))
    assert exchange.request.body == b"k=v+w"


def test_form_params_already_percent_encoded_are_not_encoded_twice(tmp_path: Path) -> None:
    params = [{"name": "field%5B1%5D", "value": "a%20b"}, {"name": "plain[2]", "value": "1+1=2"}]
    post = {"mimeType": "application/x-www-form-urlencoded", "params": params}
    exchange = _one(_write_har(tmp_path / "c.har", [_entry(0, method="POST", postData=post)]))
    assert exchange.request.body == b"field%5B1%5D=a+b&plain%5B2%5D=1%2B1%3D2"


def test_binary_bodies(tmp_path: Path) -> None:
    blob = bytes(range(256))
    entry = _entry(0, method="PUT", postData={"text": base64.b64encode(blob).decode(), "encoding": "base64"})
    entry["response"]["content"] = {"text": base64.b64encode(blob[::-1]).decode(), "encoding": "base64"}
    exchange = _one(_write_har(tmp_path / "c.har", [entry]))
    assert exchange.request.body == blob
    assert exchange.recorded is not None
    assert exchange.recorded.body == blob[::-1]


def test_entry_without_response(tmp_path: Path) -> None:
    entry = _entry(0)
    del entry["response"]
    assert _one(_write_har(tmp_path / "c.har", [entry])).recorded is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"url": "data:image/png;base64,AAAA"}, "not http"),
        ({"url": "blob:https://example.com/3f1c"}, "not http"),
        ({"url": "chrome-extension://abcdef/script.js"}, "not http"),
        ({"url": "data:image/png;base64,AAAA", "method": ""}, "not http"),  # as Safari writes it
        ({"method": ""}, "no request method"),
        ({"method": "GET /ADMIN/SECRET?X="}, "request method is not an HTTP token"),
        ({"method": "GET\r\nX-Injected: 1"}, "request method is not an HTTP token"),
    ],
)
def test_unreplayable_entries_are_yielded_with_a_skip(
    tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    entries = [_entry(0), _entry(1, **change), _entry(2)]
    exchanges = list(capture.read(_write_har(tmp_path / "c.har", entries)))
    assert [e.skip for e in exchanges] == [None, reason, None]


@pytest.mark.parametrize(
    "change",
    [
        {"url": "wss://api.example.com/socket"},
        {"url": "ws://api.example.com/socket"},
        {"headers": [{"name": "Upgrade", "value": "websocket"}]},
    ],
)
def test_websocket_entries_become_streams(tmp_path: Path, change: dict[str, Any]) -> None:
    exchange = _one(_write_har(tmp_path / "c.har", [_entry(0, **change)]))
    assert exchange.skip is None
    assert exchange.request.stream is not None and exchange.request.stream.kind == "websocket"


def test_websocket_resource_type(tmp_path: Path) -> None:
    entry = _entry(0)
    entry["_resourceType"] = "websocket"
    stream = _one(_write_har(tmp_path / "c.har", [entry])).request.stream
    assert stream is not None and stream.kind == "websocket"


def test_truncated_in_the_middle_of_entry_3(tmp_path: Path) -> None:
    text = json.dumps({"log": {"version": "1.2", "entries": [_entry(i) for i in range(6)]}})
    marker = json.dumps(_entry(3)["request"]["url"])
    cut = text.index(marker) + 10
    path = tmp_path / "cut.har"
    path.write_text(text[:cut], encoding="utf-8")
    seen: list[int] = []
    with pytest.raises(CaptureError) as info:
        for exchange in capture.read(path):
            seen.append(exchange.index)
    assert seen == [0, 1, 2]
    assert info.value.entry == 3
    assert "entry 3" in str(info.value)
    assert info.value.hint


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\t ", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (b"GET / HTTP/1.1\r\n", "does not start with"),
        (b'{"log": {"version": "1.2"}}', "no log.entries"),
        (b'{"log": {"entries": {"a": 1}}}', "not a list"),
        (b'{"other": [1, 2, 3]}', "no log.entries"),
        (b'{"log": {"entries": [', "entry 0"),
        (b'{"log": {"entries": [{"request": {"url": "https://x/"}}]}}', "no request.method"),
        (b'{"log": {"entries": [{"request": {"method": "GET"}}]}}', "no request.url"),
        (b'{"log": {"entries": [1]}}', "not a JSON object"),
        (b'{"log": {"entries": [{"request": {"method": "GET", "url": "/x", "headers": 5}}]}}', "headers"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.har"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message) as info:
        list(capture.read(path))
    assert str(path) in str(info.value)
    assert info.value.hint


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="does not exist"):
        capture.read(tmp_path / "nope.har")
    with pytest.raises(CaptureError, match="directory"):
        capture.read(tmp_path)
    with pytest.raises(CaptureError, match="does not exist"):
        capture.digest(tmp_path / "nope.har")


def test_entry_error_names_the_entry_after_yielding_the_earlier_ones(tmp_path: Path) -> None:
    entries = [_entry(0), _entry(1), {"request": {"method": "GET"}}]
    seen = []
    with pytest.raises(CaptureError) as info:
        for exchange in capture.read(_write_har(tmp_path / "c.har", entries)):
            seen.append(exchange.index)
    assert seen == [0, 1]
    assert info.value.entry == 2


def test_big_integers_never_become_floats(tmp_path: Path) -> None:
    big = 2**80 + 1
    entry = _entry(0)
    entry["time"] = big
    entry["_extra"] = {"n": big, "f": 1.5}
    path = tmp_path / "big.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    assert _one(path).recorded is not None
    entry["response"]["status"] = big
    path.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    with pytest.raises(CaptureError, match=str(big)):
        list(capture.read(path))


def test_integral_float_status_is_accepted(tmp_path: Path) -> None:
    entry = _entry(0)
    entry["response"]["status"] = 404.0
    recorded = _one(_write_har(tmp_path / "c.har", [entry])).recorded
    assert recorded is not None
    assert recorded.status == 404
    assert isinstance(recorded.status, int)


def test_empty_entries_list_yields_nothing(tmp_path: Path) -> None:
    assert list(capture.read(_write_har(tmp_path / "c.har", []))) == []


def test_digest_is_sha256_of_the_bytes() -> None:
    path = DATA / "mitmproxy__har_files__safari.har"
    assert capture.digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert capture.digest(str(path)) == capture.digest(path)


def test_detect() -> None:
    assert capture.detect(DATA / "mitmproxy__har_files__with-bom.har") == "har"


def test_wrapped_base64_and_bad_base64(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 2
    text = base64.encodebytes(blob).decode()  # wrapped at 76 columns
    assert "\n" in text
    entry = _entry(0)
    entry["response"]["content"] = {"text": text, "encoding": "base64"}
    recorded = _one(_write_har(tmp_path / "c.har", [entry])).recorded
    assert recorded is not None
    assert recorded.body == blob
    entry["response"]["content"] = {"text": "not base64 at all!", "encoding": "base64"}
    with pytest.raises(CaptureError, match="base64") as info:
        list(capture.read(_write_har(tmp_path / "c.har", [_entry(0), entry])))
    assert info.value.entry == 1


def test_cookies_listed_only_in_request_cookies_are_sent(tmp_path: Path) -> None:
    entry = _entry(0, cookies=[{"name": "a", "value": "1"}, {"name": "b", "value": "2"}])
    assert header(_one(_write_har(tmp_path / "c.har", [entry])).request.headers, "cookie") == "a=1; b=2"
    entry["request"]["headers"].append({"name": "Cookie", "value": "a=1"})
    cookies = [v for n, v in _one(_write_har(tmp_path / "c.har", [entry])).request.headers if n == "cookie"]
    assert cookies == ["a=1"]


def test_non_utf8_file_gets_a_conversion_hint(tmp_path: Path) -> None:
    path = tmp_path / "latin1.har"
    path.write_bytes(
        b'{"log": {"entries": [{"request": {"method": "GET", "url": "https://x.test/caf\xe9"}}]}}'
    )
    with pytest.raises(CaptureError, match="UTF8") as info:
        list(capture.read(path))
    assert info.value.hint is not None
    assert "UTF-8" in info.value.hint


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "HTTP://", "ws://", "", "http:", "https:///"]),
    st.text(alphabet="ab1.:@-_~%/?#&=[] \t\r\n\x00é+;", max_size=30),
)
def test_the_fast_url_split_equals_urlsplit(scheme: str, rest: str) -> None:
    url = scheme + rest
    try:
        expected = split_url_slowly(url)
    except ValueError:  # urlsplit refuses it (an unbalanced "["): the fast path never takes those
        assert "[" in url or "]" in url
        return
    assert split_url(url) == expected
