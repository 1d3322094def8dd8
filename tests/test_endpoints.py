"""Endpoint templating and pattern matching."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.common.endpoints import EndpointMatcher, pattern_matches, split_target, template
from paritycheck.errors import ConfigError


@pytest.mark.parametrize(
    "segment",
    [
        "42",
        "0",
        str(uuid.UUID(int=12345)),
        str(uuid.UUID(int=2**127 + 99)).upper(),
        "5f2b9c1e8a7d",
        "507f1f77bcf86cd799439011",
        "eyJhbGciOiJIUzI1NiJ9abc123",
        "AbCdEfGh1234567890_-xyz",
        # Secrets (issue 23): a JWT has dots, and none may ever name an endpoint.
        "eyJhbGciOiJIUzI1NiJ9.eyJzaGFyZSI6IjQyIn0.Ab9Cd8Ef7Gh6Ij5Kl4Mn3Op2Qr1St0Uv",
        "eyJhbGciOiJIUzI1NiJ9.eyJzaGFyZSI6IjQyIn0.",
        "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "ya29.a0AfH6SMBxabcdefghijklmnopqrstuvwxyz",
        "eyJhbGciOiJIUzI1NiJ9%2EeyJzaGFyZSI6IjQyIn0%2EAb9Cd8Ef7Gh6Ij5Kl4Mn3Op2Qr1St0Uv",
    ],
)
def test_identifiers_become_id(segment: str) -> None:
    assert template(f"/api/v1/users/{segment}/tags") == "/api/v1/users/{id}/tags"


@pytest.mark.parametrize(
    "segment",
    [
        "users",
        "v1",
        "me",
        "2fa",
        "deadbeefcafe",
        "abc123",
        "oauth2",
        "very-long-article-title-words",
        "x" * 30,
    ],
)
def test_words_stay(segment: str) -> None:
    assert template(f"/api/{segment}") == f"/api/{segment}"


def test_query_is_not_part_of_the_template() -> None:
    assert template("/api/users/7?page=2") == "/api/users/{id}"


@pytest.mark.parametrize(
    ("target", "endpoint"),
    [
        ("http://alice@host/api/users/7", "GET /api/users/{id}"),
        ("https://alice:pw@host:8443/a/b?x=1", "GET /a/b"),
        ("http://alice@host/", "GET /"),
        ("http://alice@host", "GET /"),
    ],
)
def test_an_absolute_form_target_is_named_by_its_path(target: str, endpoint: str) -> None:
    # A client may send a proxy "GET http://user@host/x": neither the user nor the host names anything.
    assert EndpointMatcher().endpoint("GET", target) == endpoint


@pytest.mark.parametrize(
    ("stored", "parts"),
    [
        ("http://[redacted]@host/a?b=1#c", ("/a", "b=1")),  # what stores before issue 23 kept
        ("http://redacted-1a2b3c4d@host:8080", ("/", "")),
        ("/only/a/path?q", ("/only/a/path", "q")),
        ("", ("/", "")),
        ("http://[::1/x", ("/x", "")),  # an unclosed IPv6 literal: urlsplit raises
    ],
)
def test_split_target_never_raises(stored: str, parts: tuple[str, str]) -> None:
    assert split_target(stored) == parts


_segment = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_.%{}=", max_size=40),
    st.integers(min_value=0).map(str),
    st.uuids().map(str),
)
_paths = st.lists(_segment, max_size=8).map(lambda segs: "/" + "/".join(segs))


@given(_paths)
def test_template_is_idempotent(path: str) -> None:
    once = template(path)
    assert template(once) == once


@given(_paths)
def test_template_keeps_the_number_of_segments(path: str) -> None:
    assert template(path).count("/") == path.count("/")


def test_automatic_endpoints() -> None:
    m = EndpointMatcher()
    assert m.endpoint("get", "/api/v1/goals/17") == "GET /api/v1/goals/{id}"
    assert m.endpoint("GET", "/api/v1/goals/17/") == "GET /api/v1/goals/{id}"
    assert m.endpoint("GET", "/api/v1/goals/17?x=1") == "GET /api/v1/goals/{id}"
    assert m.endpoint("GET", "/") == "GET /"
    assert m.endpoint("GET", "") == "GET /"
    assert m.endpoint("DELETE", "/api/v1/goals/17") == "DELETE /api/v1/goals/{id}"


def test_configured_patterns_win() -> None:
    m = EndpointMatcher(
        [
            "GET /api/v1/kpis/{kpi}/tags",
            "* /api/v1/auth/*",
            "POST /api/v1/reports/**",
            "/files/*.csv",
        ]
    )
    assert m.endpoint("GET", "/api/v1/kpis/abc/tags") == "GET /api/v1/kpis/{kpi}/tags"
    # The method of the pattern must match; then the automatic template applies.
    assert m.endpoint("PUT", "/api/v1/kpis/7/tags") == "PUT /api/v1/kpis/{id}/tags"
    assert m.endpoint("POST", "/api/v1/auth/login/") == "POST /api/v1/auth/*"
    assert m.endpoint("GET", "/api/v1/auth/a/b") == "GET /api/v1/auth/a/b"
    assert m.endpoint("POST", "/api/v1/reports") == "POST /api/v1/reports/**"
    assert m.endpoint("POST", "/api/v1/reports/2024/q1/pdf") == "POST /api/v1/reports/**"
    assert m.endpoint("GET", "/files/2024.csv") == "GET /files/*.csv"
    assert m.endpoint("GET", "/files/sub/2024.csv") == "GET /files/sub/2024.csv"


def test_first_pattern_wins() -> None:
    m = EndpointMatcher(["GET /a/{x}", "GET /a/*"])
    assert m.endpoint("GET", "/a/b") == "GET /a/{x}"


def test_results_are_stable_when_cached() -> None:
    m = EndpointMatcher(["* /api/v1/auth/*"])
    first = [m.endpoint("GET", f"/api/v1/users/{i % 5}") for i in range(20)]
    assert set(first) == {"GET /api/v1/users/{id}"}
    assert m.endpoint("GET", "/api/v1/auth/x") == m.endpoint("GET", "/api/v1/auth/x") == "GET /api/v1/auth/*"


@pytest.mark.parametrize("bad", ["GET", "FETCH /x", "GET api/x", "", "get"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        EndpointMatcher([bad])
    assert repr(bad) in str(info.value)
    assert info.value.hint
    with pytest.raises(ConfigError):
        pattern_matches(bad, "GET /x")


@pytest.mark.parametrize(
    ("pattern", "endpoint", "expected"),
    [
        ("GET /api/v1/goals/{id}", "GET /api/v1/goals/{id}", True),
        ("GET /api/v1/goals/{goal}", "GET /api/v1/goals/{id}", True),
        ("* /api/v1/goals/*", "DELETE /api/v1/goals/{id}", True),
        ("/api/v1/goals/**", "PATCH /api/v1/goals/{id}/tags", True),
        ("/api/v1/goals/**", "PATCH /api/v1/goals", True),
        ("get /api/v1/goals/{id}", "GET /api/v1/goals/{id}", True),
        ("POST /api/v1/goals/{id}", "GET /api/v1/goals/{id}", False),
        ("GET /api/v1/goals/{id}", "GET /api/v1/goals/{id}/tags", False),
        ("GET /api/v1/goals/*", "GET /api/v1/goals", False),
        ("GET /api/v1/goals/", "GET /api/v1/goals", True),
        ("* /**", "GET /", True),
        ("GET /a.b", "GET /aXb", False),
    ],
)
def test_pattern_matches(pattern: str, endpoint: str, expected: bool) -> None:
    assert pattern_matches(pattern, endpoint) is expected


@given(_paths, st.sampled_from(["GET", "POST", "DELETE"]))
def test_an_endpoint_matches_its_own_name_as_a_pattern(path: str, method: str) -> None:
    endpoint = EndpointMatcher().endpoint(method, path)
    if "*" not in endpoint:
        assert pattern_matches(endpoint, endpoint)
