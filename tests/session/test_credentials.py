"""Placeholder credentials of generated requests, filled with each backend's own value when sent."""

from __future__ import annotations

import base64

import pytest

from paritycheck.errors import ConfigError
from paritycheck.models import Request
from paritycheck.session import Credentials, placeholder


def request(query: str = "", headers: tuple[tuple[str, str], ...] = ()) -> Request:
    return Request("GET", "http://x/a", "/a", query, headers, None)


def test_each_backend_gets_its_own_value_where_the_scheme_puts_it() -> None:
    credentials = Credentials(
        {"key": {"legacy": "L-key", "candidate": "C-key"}, "basic": "ann:pw 1", "cookie": "s1"}, source="t"
    )
    sent = request(
        f"page=2&api_key={placeholder('key')}",
        (
            ("authorization", f"Basic {placeholder('basic')}"),
            ("cookie", f"theme=dark; sid={placeholder('cookie')}"),
            ("x-token", f"Token {placeholder('token')}"),
        ),
    )
    assert Credentials.holds(sent) and not Credentials.holds(request("page=2"))
    legacy, used = credentials.fill("legacy", sent, token="tok-L")
    assert legacy.query == "page=2&api_key=L-key"
    headers = dict(legacy.headers)
    assert headers["authorization"] == "Basic " + base64.b64encode(b"ann:pw 1").decode()
    assert headers["cookie"] == "theme=dark; sid=s1"
    assert headers["x-token"] == "Token tok-L" and used == "tok-L"  # no value of its own: the login's
    candidate, _ = credentials.fill("candidate", sent, token=None)
    assert candidate.query == "page=2&api_key=C-key"
    assert dict(candidate.headers)["x-token"] == f"Token {placeholder('token')}"  # nothing fills it


def test_a_capture_generated_before_schemes_takes_the_login_token() -> None:
    old = request(headers=(("authorization", "Bearer paritycheck-explore"),))
    filled, used = Credentials({}, source="t").fill("legacy", old, token="abc")
    assert dict(filled.headers)["authorization"] == "Bearer abc" and used == "abc"


def test_an_unset_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match=r"explore\.credentials\.key\.legacy refers to \$\{NOPE_NOT_SET\}"):
        Credentials({"key": {"legacy": "${NOPE_NOT_SET}", "candidate": "x"}}, source="t")
