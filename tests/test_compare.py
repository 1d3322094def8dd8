"""Comparator: status, headers, JSON / text / binary bodies, endpoint rules, A/A checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.compare import Comparator, digest, media_type
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.models import Difference, Headers, Reply

JSON: Headers = (("content-type", "application/json; charset=utf-8"),)
ENDPOINT = "GET /api/v1/kpis/{id}"


def reply(body: Any = None, *, status: int = 200, headers: Headers = JSON, raw: bytes | None = None) -> Reply:
    data = raw if raw is not None else json.dumps(body).encode()
    return Reply(status=status, headers=headers, body=data)


def paths(found: tuple[Difference, ...]) -> list[tuple[str, str]]:
    return [(d.kind, d.path) for d in found]


@pytest.fixture
def comparator() -> Comparator:
    return Comparator(
        NormaliseConfig(ignore=("$.meta.request_id", "$..trace_id")),
        [EndpointRule(match="GET /api/v1/kpis/{id}/tags", unordered=("$.data",))],
    )


def test_csharp_and_python_replies_compare_equal_under_defaults() -> None:
    comparator = Comparator(NormaliseConfig())
    csharp = {
        "success": True,
        "data": {"kpiId": 1, "createdAt": "2024-05-01T10:00:00.1234567Z"},
        "error": None,
    }
    python = {"kpi_id": 1, "created_at": "2024-05-01T10:00:00.123456+00:00"}
    assert (
        comparator.compare(
            ENDPOINT, reply(csharp), reply(python, headers=(("content-type", "application/json"),))
        )
        == ()
    )
    wrong = {"kpi_id": 1, "created_at": "2024-05-01T10:00:01.123456+00:00"}
    assert comparator.compare(ENDPOINT, reply(csharp), reply(wrong)) == (
        Difference(
            "changed",
            "$.created_at",
            "2024-05-01T10:00:00.123456Z",
            "2024-05-01T10:00:01.123456Z",
            legacy_path="$.data.createdAt",  # where the legacy wrote it (issue 12.7)
        ),
    )


def test_csharp_error_envelope_equals_python_error_shape(comparator: Comparator) -> None:
    legacy = reply({"success": False, "data": None, "error": "KPI not found"}, status=404)
    candidate = reply({"error": "KPI not found"}, status=404)
    assert comparator.compare(ENDPOINT, legacy, candidate) == ()
    assert paths(comparator.compare(ENDPOINT, legacy, reply({"error": "Not found"}, status=404))) == [
        ("changed", "$.error")
    ]


def test_status_difference(comparator: Comparator) -> None:
    found = comparator.compare(ENDPOINT, reply({"a": 1}), reply({"a": 1}, status=201))
    assert found == (Difference("status", "status", 200, 201),)


@pytest.mark.parametrize(
    ("a", "b", "differs"),
    [
        ("application/json; charset=utf-8", "Application/JSON", False),
        ("application/json", "application/problem+json", True),
        ("text/html; charset=iso-8859-1", "text/html;charset=UTF-8", False),
    ],
)
def test_content_type_compares_media_type_only(a: str, b: str, differs: bool) -> None:
    comparator = Comparator(NormaliseConfig())
    found = comparator.compare(
        ENDPOINT, reply({}, headers=(("content-type", a),)), reply({}, headers=(("content-type", b),))
    )
    assert (("header", "header:content-type") in paths(found)) is differs


def test_location_ignores_each_backends_origin_and_cache_control_its_order(comparator: Comparator) -> None:
    legacy = reply(
        raw=b"",
        status=201,
        headers=(("location", "http://legacy:8000/api/v1/kpis/7"), ("cache-control", "no-store, No-Cache")),
    )
    same = reply(
        raw=b"",
        status=201,
        headers=(("location", "https://new.example/api/v1/kpis/7"), ("cache-control", "no-cache,no-store")),
    )
    assert comparator.compare(ENDPOINT, legacy, same) == ()
    other = reply(
        raw=b"", status=201, headers=(("location", "/api/v1/kpis/8"), ("cache-control", "no-store"))
    )
    assert comparator.compare(ENDPOINT, legacy, other) == (
        Difference("header", "header:location", "http://legacy:8000/api/v1/kpis/7", "/api/v1/kpis/8"),
        Difference("header", "header:cache-control", "no-store, No-Cache", "no-store"),
    )


def test_missing_header_differs_and_unlisted_headers_are_not_compared(comparator: Comparator) -> None:
    legacy = reply({}, headers=(*JSON, ("cache-control", "no-cache"), ("x-powered-by", "ASP.NET")))
    candidate = reply({}, headers=(*JSON, ("server", "uvicorn")))
    assert comparator.compare(ENDPOINT, legacy, candidate) == (
        Difference("header", "header:cache-control", "no-cache", None),
    )


def test_ignored_paths_do_not_differ(comparator: Comparator) -> None:
    legacy = reply({"id": 1, "meta": {"requestId": "a", "v": 1}, "items": [{"traceId": "x"}]})
    candidate = reply({"id": 1, "meta": {"request_id": "b", "v": 1}, "items": [{"trace_id": "y"}]})
    assert comparator.compare(ENDPOINT, legacy, candidate) == ()


def test_endpoint_rules_apply_only_where_they_match(comparator: Comparator) -> None:
    legacy = reply({"success": True, "data": ["b", "a"], "error": None})
    candidate = reply(["a", "b"])
    assert comparator.compare("GET /api/v1/kpis/{id}/tags", legacy, candidate) == ()
    assert paths(comparator.compare("GET /api/v1/kpis/{id}", legacy, candidate)) == [("order", "$")]
    assert paths(comparator.compare("POST /api/v1/kpis/{id}/tags", legacy, candidate)) == [("order", "$")]


def test_any_method_and_glob_patterns() -> None:
    comparator = Comparator(NormaliseConfig(), [EndpointRule(match="* /api/*/kpis/**", ignore=("$.etag",))])
    legacy, candidate = reply({"etag": "1", "a": 1}), reply({"etag": "2", "a": 1})
    assert comparator.compare("DELETE /api/v2/kpis/{id}/tags", legacy, candidate) == ()
    assert paths(comparator.compare("GET /api/v2/goals/{id}", legacy, candidate)) == [("changed", "$.etag")]
    assert comparator.rules("GET /api/v2/kpis").ignore == ("$.etag",)


def test_json_against_html_is_a_type_difference(comparator: Comparator) -> None:
    html = reply(
        raw=b"<html><body>Server Error</body></html>", status=500, headers=(("content-type", "text/html"),)
    )
    found = comparator.compare(ENDPOINT, reply({"a": 1}), html)
    assert found[-1] == Difference("type", "$", {"a": 1}, "<html><body>Server Error</body></html>")
    assert paths(found) == [("status", "status"), ("header", "header:content-type"), ("type", "$")]


def test_declared_json_that_does_not_parse_is_a_type_difference(comparator: Comparator) -> None:
    found = comparator.compare(ENDPOINT, reply({"a": 1}), reply(raw=b'{"a": 1'))
    assert found == (Difference("type", "$", {"a": 1}, '{"a": 1'),)


def test_bodies_that_parse_on_both_sides_compare_as_json_whatever_the_type() -> None:
    comparator = Comparator(NormaliseConfig(compare_headers=()))
    text = (("content-type", "text/plain"),)
    assert (
        comparator.compare(
            ENDPOINT, reply(raw=b'{"a": 1.0}', headers=text), reply(raw=b'{ "a":1 }', headers=())
        )
        == ()
    )
    found = comparator.compare(ENDPOINT, reply(raw=b"123", headers=text), reply(raw=b"abc", headers=text))
    assert found == (Difference("body", "$", "123", "abc"),)  # only one side parses: text, not a type clash


def test_text_bodies_compare_exactly_and_show_where_they_differ(comparator: Comparator) -> None:
    text = (("content-type", "text/plain"),)
    assert (
        comparator.compare(ENDPOINT, reply(raw=b"same", headers=text), reply(raw=b"same", headers=text)) == ()
    )
    (found,) = comparator.compare(
        ENDPOINT, reply(raw=b"x" * 1000 + b"A", headers=text), reply(raw=b"x" * 1000 + b"B", headers=text)
    )
    assert found.kind == "body" and found.path == "$"
    assert found.legacy.endswith("A") and found.candidate.endswith("B") and len(found.legacy) < 300


def test_binary_bodies_compare_by_digest(comparator: Comparator) -> None:
    png = (("content-type", "image/png"),)
    a, b = b"\x89PNG\r\n" + bytes(2042), b"\x89PNG\r\n" + bytes(2041) + b"\x01"
    assert comparator.compare(ENDPOINT, reply(raw=a, headers=png), reply(raw=a, headers=png)) == ()
    found = comparator.compare(ENDPOINT, reply(raw=a, headers=png), reply(raw=b, headers=png))
    assert found == (Difference("body", "$", digest(a), digest(b)),)
    assert digest(a).startswith("sha256:") and digest(a).endswith("(2048 bytes)")
    invalid_utf8 = comparator.compare(
        ENDPOINT, reply(raw=b"\xff\xfe", headers=()), reply(raw=b"\xff\xfd", headers=())
    )
    assert paths(invalid_utf8) == [("body", "$")]


def test_empty_against_json_body(comparator: Comparator) -> None:
    assert comparator.compare(ENDPOINT, reply(raw=b"", status=204), reply(raw=b"", status=204)) == ()
    assert paths(comparator.compare(ENDPOINT, reply(raw=b""), reply({}))) == [("type", "$")]


def test_big_integers_keep_their_last_digits(comparator: Comparator) -> None:
    found = comparator.compare(
        ENDPOINT,
        reply(raw=b'{"id": 123456789012345678901234567890}'),
        reply(raw=b'{"id": 123456789012345678901234567891}'),
    )
    assert found == (
        Difference("changed", "$.id", 123456789012345678901234567890, 123456789012345678901234567891),
    )


def test_boolean_never_equals_number(comparator: Comparator) -> None:
    assert paths(comparator.compare(ENDPOINT, reply({"a": [True]}), reply({"a": [1]}))) == [
        ("type", "$.a[0]")
    ]


def test_float_tolerance_from_the_config() -> None:
    comparator = Comparator(NormaliseConfig(float_tolerance=1e-9))
    assert comparator.compare(ENDPOINT, reply({"v": 0.1 + 0.2}), reply({"v": 0.3})) == ()
    assert paths(
        Comparator(NormaliseConfig()).compare(ENDPOINT, reply({"v": 0.1 + 0.2}), reply({"v": 0.3}))
    ) == [("changed", "$.v")]


def test_repeated_legacy_body_gives_the_same_answer(comparator: Comparator) -> None:
    legacy = reply({"success": True, "data": {"kpiId": 1}, "error": None})
    first = comparator.compare(ENDPOINT, legacy, reply({"kpi_id": 2}))
    for _ in range(3):
        assert comparator.compare(ENDPOINT, legacy, reply({"kpi_id": 2})) == first
        assert comparator.compare(ENDPOINT, legacy, reply({"kpi_id": 1})) == ()


def test_small_cache_still_gives_right_answers() -> None:
    comparator = Comparator(NormaliseConfig(), cache_size=2)
    for i in range(10):
        assert comparator.compare(ENDPOINT, reply({"n": i % 3}), reply({"n": i % 3, "x": 1})) == (
            Difference("added", "$.x", None, 1),
        )


def test_compare_bodies_skips_status_and_headers(comparator: Comparator) -> None:
    a = reply({"a": 1}, headers=(("content-type", "application/json"), ("cache-control", "max-age=1")))
    b = reply({"a": 2}, status=500, headers=(("content-type", "text/json"), ("cache-control", "max-age=2")))
    assert comparator.compare_bodies(ENDPOINT, a, b) == (Difference("changed", "$.a", 1, 2),)


def test_failed_replies_can_be_compared(comparator: Comparator) -> None:
    failed = Reply(status=0, error="connection refused")
    assert comparator.compare(ENDPOINT, failed, failed) == ()
    assert paths(comparator.compare(ENDPOINT, reply({}), failed)) == [
        ("status", "status"),
        ("header", "header:content-type"),
        ("type", "$"),
    ]


def test_media_type() -> None:
    assert media_type("Application/JSON ; charset=UTF-8") == "application/json"
    assert media_type(None) == ""


bodies = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=12,
)


@given(bodies, st.sampled_from([JSON, (("content-type", "text/plain"),), ()]), st.integers(200, 599))
def test_a_reply_never_differs_from_itself(body: Any, headers: Headers, status: int) -> None:
    comparator = Comparator(NormaliseConfig(unordered=("$..tags",), ignore=("$..id",)))
    a = reply(body, headers=headers, status=status)
    b = reply(
        raw=json.dumps(body, indent=1).encode(), headers=headers, status=status
    )  # other bytes, same JSON
    assert comparator.compare(ENDPOINT, a, a) == ()
    assert comparator.compare(ENDPOINT, a, b) == ()


def test_an_empty_body_is_not_an_empty_json_string(comparator: Comparator) -> None:
    """A 204 against a JSON refusal: the empty side reads ``(empty body)``, its type ``empty``, never
    ``""`` (a JSON document of its own)."""
    from paritycheck.compare import detail

    refused = reply({"error": "unauthorized"}, status=401)
    deleted = Reply(204, (), b"")
    found = {d.kind: d for d in comparator.compare("DELETE /t/{id}", refused, deleted)}
    assert found["type"].candidate == "(empty body)" and detail(found["type"]) == "object→empty"
    quoted = {d.kind: d for d in comparator.compare("GET /s", reply(""), Reply(200, JSON, b""))}
    assert quoted["type"].legacy == "" and quoted["type"].candidate == "(empty body)"
