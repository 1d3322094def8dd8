"""redact by look (tokens anywhere, random strings in URLs) and by value (the request's own secrets,
echoed back), cut texts, and the cheap path for ordinary URLs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.compare import redact
from paritycheck.models import Request
from paritycheck.store.records import shown_value
from tests.redactcase import ALPHABET_URL, AWS, GITHUB, JWT, RANDOM, fixed_key, m, u

__all__ = ["fixed_key"]  # applies the tests' redaction key to every test here


# --- secrets by look: tokens anywhere, random strings in URLs --------------------------------------

TOKENS = [
    JWT,
    GITHUB,
    "gho_" + "x" * 36,
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    AWS,
    "ASIAY34FZKBOKMUTVV7A",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "ya29.a0AfH6SMBx-abcdefghijklmnopqrstuvwxyz",
    "glpat-abcdefghij0123456789",
    "npm_" + "a1B2" * 9,
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
    "SG.abcdefghijklmnop.qrstuvwxyz0123456789ABCD",
    "hf_abcdefghijklmnopqrstuvwxyz0123456",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
]


@pytest.mark.parametrize("token", TOKENS)
def test_tokens_are_secrets_in_any_position(token: str) -> None:
    doc = {"data": {"note": f"use {token} now", "list": [token]}}
    assert token not in json.dumps(redact.json_value(doc))
    raw = json.dumps(doc).encode()
    assert token.encode() not in redact.body(raw, "application/json")
    assert json.loads(redact.body(raw, "application/json"))["data"]["list"] == [m(token)]
    assert token.encode() not in redact.body(f"<p>{token}</p>".encode(), "text/html")
    assert token not in redact.text(f"failed: {token}")
    assert token not in repr(redact.headers((("x-trace", f"t={token}"),)))


@pytest.mark.parametrize(
    "word", ["task-abcdefghijklmnopqrstuvwxyz", "chef_abcdefghijklmnopqrstuvwxyz0123456789"]
)
def test_prefixes_inside_words_are_not_tokens(word: str) -> None:
    assert redact.text(f"see {word}") == f"see {word}"


def test_random_strings_from_a_secret_generator_are_found_in_urls() -> None:
    import secrets as secrets_mod

    tokens = [secrets_mod.token_urlsafe(24) for _ in range(2000)]
    missed = [t for t in tokens if t in redact.url(f"/s/{t}?k={t}")]
    # 24 random bytes read as words (letters only, vowels in place) about once in thousands of draws.
    assert len(missed) <= 4, missed


# --- secrets by value: the request's own secrets, echoed back ---------------------------------------


def _request(**kw: Any) -> Request:
    return Request(kw.pop("method", "GET"), kw.pop("url", "/x"), kw.pop("path", "/x"), **kw)


def test_request_secrets_are_collected_from_every_position() -> None:
    basic = base64.b64encode(b"ann:basic-pass").decode()
    request = _request(
        url="http://user:userinfo-pw@prod.test/x",
        query="api_key=query-key&page=2&t=" + RANDOM,
        headers=(
            ("authorization", f"Basic {basic}"),
            ("cookie", "sid=cookie-session-1; theme=dark"),
            ("x-csrf-token", "csrf-value"),
            ("x-session", "session-header"),
            ("content-type", "application/json"),
        ),
        body=json.dumps(
            {"user": "ann", "password": "body-password", "credentials": {"key": 12345678}}
        ).encode(),
    )
    found = redact.request_secrets(request)
    expected = [basic, "ann:basic-pass", "basic-pass", "userinfo-pw", "query-key", RANDOM, "cookie-session-1"]
    expected += ["csrf-value", "session-header", "body-password", "12345678"]
    for value in expected:
        assert value in found, value
    assert "dark" not in found and "page" not in found and "ann" not in found  # short or not secret
    assert list(found) == sorted(found, key=lambda v: (-len(v), v))


def test_echoed_request_secrets_are_marked_with_the_same_mark() -> None:
    found = ("cookie-session-1", "query/key+1")
    answer = b'{"hello": "you sent cookie-session-1", "again": "query/key+1", "n": 1}'
    redacted = json.loads(redact.body(answer, "application/json", found))
    assert redacted == {"hello": f"you sent {m('cookie-session-1')}", "again": m("query/key+1"), "n": 1}
    html_page = b"<a href='/x?k=query%2Fkey%2B1'>cookie-session-1</a>"
    shown = redact.body(html_page, "text/html", found)
    assert b"query" not in shown and b"cookie-session" not in shown
    assert m("cookie-session-1").encode() in shown
    numeric = redact.body(b'{"pin": 1, "code": 12345678}', "application/json", ("12345678",))
    assert json.loads(numeric) == {"pin": m(1), "code": m(12345678)}


def test_a_found_value_that_is_not_in_the_body_leaves_its_bytes_alone() -> None:
    answer = b'{ "a" : 1 }'
    assert redact.body(answer, "application/json", ("not-there-at-all",)) is answer


def test_difference_values_are_redacted_by_the_requests_secrets() -> None:
    found = ("echoed-api-key",)
    assert shown_value("$.note", "hello echoed-api-key", found) == f"hello {m('echoed-api-key')}"
    assert shown_value("header:location", "/cb?x=echoed-api-key", found) == f"/cb?x={u('echoed-api-key')}"
    assert shown_value("$.session", "s-1", found) == m("s-1")


def test_marks_are_not_marked_again() -> None:
    for value in ("secret-value", JWT):
        assert redact.mark(redact.mark(value)) == redact.mark(value)
        assert redact.url_mark(redact.url_mark(value)) == redact.url_mark(value)
    once = redact.url(f"http://u:p@h/{JWT}?token=t&x=1")
    assert redact.url(once) == once


def test_unkeyed_marks_carry_no_hash() -> None:
    with redact.unkeyed():
        assert (
            redact.mark("s") == "[redacted]"
            and redact.url("http://u:p@h/?token=t") == "http://redacted@h/?token=redacted"
        )
    assert redact.mark("s") != "[redacted]"


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["api_key", "page", "next", "code", "q", "Token", "x"]),
            st.text(ALPHABET_URL, max_size=12),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.text(ALPHABET_URL, max_size=30), max_size=4),
)
def test_the_fast_path_for_urls_agrees_with_the_full_one(names: list[str], segments: list[str]) -> None:
    # url() skips the full walk when only parameter names can matter; it must redact the same.
    target = "/" + "/".join(segments) + "?" + "&".join(f"{n}={n[::-1]}x" for n in names)
    full = redact.url("//u@h" + target)  # user information: the full walk
    assert full == f"//{u('u')}@h" + redact.url(target)


def test_a_cut_never_leaves_a_piece_of_a_secret() -> None:
    # compare shows a long text as a window around its first difference; the cut may split a token
    # (no longer a JWT to look at) or a request's secret (no longer its value).
    window = f"… [from char 120] {JWT[60:]} and the key is Secr…"
    shown = redact.cut_edges(window, ("Secret-Key-77",))
    assert shown == f"… [from char 120] {m(JWT[60:])} and the key is {m('Secr')}…"
    bounded = "x" * 190 + f" Bearer {JWT[:20]}… [400 chars]"
    assert JWT[:20] not in redact.cut_edges(bounded)
    # A word cut short at an edge is kept; a text no one cut is never touched.
    assert redact.cut_edges("… [from char 9] ello world…") == "… [from char 9] ello world…"
    assert redact.cut_edges(f"plain {JWT[:30]}") == f"plain {JWT[:30]}"
