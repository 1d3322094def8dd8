"""Matching requests to operations: base paths, templates, specificity, methods."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.contract import Contract, load_spec
from paritycheck.contract.match import Route, Router, base_paths

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi" / "features"


@pytest.fixture(scope="module")
def api30() -> Contract:
    return load_spec(DATA / "api30.yaml")


def key(contract: Contract, method: str, path: str) -> str | None:
    op = contract.operation(method, path)
    return None if op is None else op.key


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/users/me", "GET /api/v1/users/me"),
        ("GET", "/api/v1/users/42", "GET /api/v1/users/{id}"),
        ("get", "/api/v1/users/42", "GET /api/v1/users/{id}"),
        ("GET", "/api/v1/users/42/", "GET /api/v1/users/{id}"),
        ("GET", "/api/v1/users/42?x=1", "GET /api/v1/users/{id}"),
        ("GET", "/api/v1/users/42/avatar", "GET /api/v1/users/{id}/avatar"),
        ("GET", "/api/v1/files/report.json", "GET /api/v1/files/{name}.json"),
        ("HEAD", "/api/v1/users/42", "GET /api/v1/users/{id}"),
        ("DELETE", "/api/v1/users/me", "DELETE /api/v1/users/{id}"),  # /users/me has no DELETE
        ("GET", "/users/42", "GET /api/v1/users/{id}"),  # captured without the base path
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/users/42/avatar/big", None),
        ("GET", "/api/v1/files/report.xml", None),
        ("POST", "/api/v1/users/42", None),
        ("GET", "/api/v2/users/42", None),
    ],
)
def test_operation_matching(api30: Contract, method: str, path: str, expected: str | None) -> None:
    assert key(api30, method, path) == expected


def test_endpoint_patterns_use_spec_templates(api30: Contract) -> None:
    patterns = api30.endpoint_patterns()
    assert "GET /api/v1/users/{id}" in patterns
    assert "GET /api/v1/goals/{goal_id}" in patterns
    assert all(p.split(" ", 1)[1].startswith("/api/v1/") for p in patterns)


def test_a_request_is_named_by_its_operation(api30: Contract) -> None:
    """How replay --contract and explore name endpoints (issue 22): by the operation the check matches,
    whatever the values (explore's AAA, 0.5, null) and with or without the base path; a method the path
    does not document, by that method on the path's template; no documented path: None."""
    from paritycheck.config import Config
    from paritycheck.run import endpoint_matcher

    matcher = endpoint_matcher(Config(), api30)
    requests = [("GET", "/api/v1/users/AAA"), ("GET", "/api/v1/users/0.5"), ("GET", "/users/null")]
    assert {matcher.endpoint(m, p) for m, p in requests} == {"GET /api/v1/users/{id}"}
    assert matcher.endpoint("POST", "/api/v1/users/42") == "POST /api/v1/users/{id}"
    assert matcher.endpoint("GET", "/api/v1/users/me") == "GET /api/v1/users/me"
    assert matcher.endpoint("GET", "/elsewhere/42") == "GET /elsewhere/{id}"
    assert matcher.fixed == {"GET /api/v1/users/{id}", "POST /api/v1/users/{id}", "GET /api/v1/users/me"}
    assert api30.endpoint_name("GET", "/nowhere") is None


def test_base_paths() -> None:
    servers = [
        {"url": "https://x.example/api/{v}/", "variables": {"v": {"default": "v3"}}},
        {"url": "/relative"},
        {"url": "http://root.example"},
        {"url": 5},
    ]
    assert base_paths(servers) == ["/api/v3", "/relative", ""]
    assert base_paths(None) == []


def test_most_specific_template_wins_regardless_of_order() -> None:
    names = ["/a/{x}/c", "/a/b/{y}", "/a/{x}/{y}", "/a/b/c"]
    for order in (names, names[::-1]):
        router = Router([Route(t, {"GET": t}) for t in order], [])
        assert router.find("GET", "/a/b/c") == "/a/b/c"
        assert router.find("GET", "/a/b/z") == "/a/b/{y}"
        assert router.find("GET", "/a/z/c") == "/a/{x}/c"
        assert router.find("GET", "/a/z/z") == "/a/{x}/{y}"


@given(
    st.text(alphabet=st.characters(blacklist_characters="/?#{}", blacklist_categories=("Cs",)), min_size=1)
)
def test_any_segment_fills_a_parameter(segment: str) -> None:
    router = Router([Route("/items/{id}", {"GET": "item"}), Route("/items/new", {"GET": "new"})], ["/v1"])
    expected = "new" if segment == "new" else "item"
    assert router.find("GET", f"/v1/items/{segment}") == expected
    assert router.find("GET", f"/items/{segment}") == expected


def test_a_path_or_operation_servers_list_overrides_the_documents(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "servers: [{url: 'https://api.example/{v}', variables: {v: {default: v2}}}]\n"
        "paths:\n"
        "  /users: {get: {responses: {'200': {description: ok}}}}\n"
        "  /files:\n"
        "    servers: [{url: 'https://files.example/storage'}]\n"
        "    get: {responses: {'200': {description: ok}}}\n"
        "    put: {servers: [{url: /upload}], responses: {'200': {description: ok}}}\n"
    )
    contract = load_spec(spec)
    assert {op.key for op in contract.operations} == {
        "GET /v2/users", "GET /storage/files", "PUT /upload/files"
    }  # fmt: skip
    assert key(contract, "GET", "/storage/files") == "GET /storage/files"
    assert key(contract, "PUT", "/upload/files") == "PUT /upload/files"
    assert key(contract, "GET", "/v2/users") == "GET /v2/users"
