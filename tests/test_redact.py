"""redact: headers, cookies, URLs, query strings, JSON and form bodies, free text."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from paritycheck.compare import redact
from paritycheck.models import Request
from paritycheck.store.records import shown_value

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIAIOSFODNN7EXAMPLE"
RANDOM = "Zk8QpL2mXv9RtY4wBn7Jc3Hd6Fg1Ks5"
ALPHABET_URL = "abcXYZ019-._~/=+:"


#: The key of every test here: expected marks are computed when the tests are collected, and other
#: tests (any replay) start runs with keys of their own meanwhile.
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _key() -> Iterator[None]:
    old = redact.current_key()
    redact.new_key(KEY)
    yield
    redact.new_key(old)


def _under_key(function: Callable[[Any], Any], value: Any) -> str:
    old = redact.current_key()
    redact.new_key(KEY)
    try:
        return str(function(value))
    finally:
        redact.new_key(old)


def m(value: object) -> str:
    """The mark of ``value`` in bodies and headers, under the tests' key."""
    return _under_key(redact.mark, value)


def u(value: str) -> str:
    """The mark of ``value`` inside a URL, under the tests' key."""
    return _under_key(redact.url_mark, value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("authorization", "Bearer abc.def.ghi", f"Bearer {m('abc.def.ghi')}"),
        ("authorization", "Basic dXNlcjpwYXNz", f"Basic {m('dXNlcjpwYXNz')}"),
        ("authorization", "justatoken", m("justatoken")),
        ("proxy-authorization", "Digest username=x, response=y", f"Digest {m('username=x, response=y')}"),
        ("cookie", "sid=abc; theme=dark", f"sid={m('abc')}; theme={m('dark')}"),
        (
            "set-cookie",
            "sid=abc; Path=/; HttpOnly; SameSite=Lax",
            f"sid={m('abc')}; Path=/; HttpOnly; SameSite=Lax",
        ),
        ("x-api-key", "k1", m("k1")),
        ("x-auth-token", "t", m("t")),
        ("api-key", "k", m("k")),
        ("x-csrf-token", "c", m("c")),
        ("x-amz-security-token", "s", m("s")),
        ("x-session-id", "s", m("s")),
        ("x-session", "s", m("s")),
        ("x-hub-signature-256", "sha256=abc", m("sha256=abc")),
        ("x-client-secret", "s", m("s")),
        ("content-type", "application/json", "application/json"),
        ("www-authenticate", 'Bearer realm="api"', 'Bearer realm="api"'),
        ("x-request-id", "r-1", "r-1"),
        (
            "location",
            "https://app.test/cb?access_token=t1&code=c1&state=s",
            f"https://app.test/cb?access_token={u('t1')}&code={u('c1')}&state=s",
        ),
        (
            "link",
            '<https://api.test/p?page=2&token=tk>; rel="next"',
            f'<https://api.test/p?page=2&token={u("tk")}>; rel="next"',
        ),
        ("refresh", "0; url=/login?code=abc", f"0; url=/login?code={u('abc')}"),
    ],
)
def test_headers(name: str, value: str, expected: str) -> None:
    assert redact.headers(((name, value),)) == ((name, expected),)


def test_headers_keep_names_and_order() -> None:
    h = (("accept", "*/*"), ("authorization", "Bearer x"), ("accept", "text/html"))
    assert redact.headers(h) == (
        ("accept", "*/*"),
        ("authorization", f"Bearer {m('x')}"),
        ("accept", "text/html"),
    )


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("https://api.test/x?access_token=abc&page=2", f"https://api.test/x?access_token={u('abc')}&page=2"),
        (
            "/x?apiKey=1&key=2&sig=3&code=4&q=5",
            f"/x?apiKey={u('1')}&key={u('2')}&sig={u('3')}&code={u('4')}&q=5",
        ),
        ("https://user:hunter2@db.test/path", f"https://{u('user:hunter2')}@db.test/path"),
        ("https://tok@host/", f"https://{u('tok')}@host/"),
        ("http://u@host/", f"http://{u('u')}@host/"),
        ("//user:pw@host/x", f"//{u('user:pw')}@host/x"),
        (
            "https://app.test/cb#access_token=abc&state=1",
            f"https://app.test/cb#access_token={u('abc')}&state=1",
        ),
        ("/plain/path", "/plain/path"),
        ("/x?flag&password=", "/x?flag&password="),  # an empty value hides nothing
        ("/x?X-Amz-Signature=abc&X-Amz-Date=1", f"/x?X-Amz-Signature={u('abc')}&X-Amz-Date=1"),
        (f"/share/{JWT}/view", f"/share/{u(JWT)}/view"),
        (f"/x?t={JWT}&v=2", f"/x?t={u(JWT)}&v=2"),
        (f"/repos/{GITHUB}/x", f"/repos/{u(GITHUB)}/x"),
        (f"/x?id={AWS}", f"/x?id={u(AWS)}"),
        (f"/s/{RANDOM}", f"/s/{u(RANDOM)}"),
        ("/cb?next=%2Flogin%3Fcode%3Dabc&x=1", f"/cb?next={quote('/login?code=' + u('abc'), safe='')}&x=1"),
    ],
)
def test_url(given_url: str, expected: str) -> None:
    assert redact.url(given_url) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "/api/orders/7f3c9a1e-2b4d-4c6e-8f00-123456789abc",  # a UUID
        "/commits/3f786850e387550fdab836ed7e6dc881de23001b",  # a SHA-1
        "/blobs/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # a SHA-256
        "/users/12345678901234567890",
        "/docs/getUserProfileByIdentifier2024",
        "/articles/my-great-article-title-2024",
        "/reports/2024-01-01T00:00:00Z",
        "/x?host=api2.eu-west-1.amazonaws.com&file=IMG_20240101_123456.jpg",
        "/x?q=SomeVeryLongCamelCaseName123&page=20",
    ],
)
def test_ids_hashes_and_words_are_not_secrets(kept: str) -> None:
    assert redact.url(kept) == kept


def test_a_redacted_url_still_parses() -> None:
    for given_url in ("http://u@host/", "http://u:p@host:8080/a?b=c", f"https://h/{JWT}?token=x#code=y"):
        parts = urlsplit(redact.url(given_url))
        assert parts.hostname in ("host", "h") and parts.port in (None, 8080)


def test_query_decodes_names() -> None:
    assert redact.query("client%5Fsecret=x&a=1") == f"client%5Fsecret={u('x')}&a=1"
    assert redact.query("") == ""


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "passwd",
        "client_secret",
        "accessToken",
        "Access-Token",
        "refresh_token",
        "id_token",
        "api_key",
        "apiKey",
        "APIKey",
        "authorization",
        "private_key",
        "session_id",
        "card_number",
        "cvv",
        "token",
        "session",
        "jwt",
        "idJwt",
        "credentials",
    ],
)
def test_json_secret_keys_in_any_style(key: str) -> None:
    assert redact.json_value({"outer": [{key: "s3cr3t", "other": "keep"}]}) == {
        "outer": [{key: redact.mark("s3cr3t"), "other": "keep"}]
    }


@pytest.mark.parametrize("key", ["token_type", "total_tokens", "max_tokens", "tokens", "id", "name", "key"])
def test_json_keys_that_are_not_secrets(key: str) -> None:
    assert redact.json_value({key: "v"}) == {key: "v"}


def test_json_keeps_null_and_boolean_secrets_but_not_containers() -> None:
    doc = {"password": None, "has_password": True, "secret": {"a": 1}, "card_number": 4111111111111111}
    assert redact.json_value(doc) == {
        "password": None,
        "has_password": True,
        "secret": redact.mark({"a": 1}),
        "card_number": redact.mark(4111111111111111),
    }


def test_a_redacted_value_keeps_empty_null_and_different_values_distinguishable() -> None:
    token = "eyJ" + "a" * 266
    shown = redact.mark(token)
    assert re.fullmatch(r"\[redacted: 269 chars, sha256 [0-9a-f]{8}…\]", shown) and token not in shown
    assert redact.mark(token) == shown and redact.mark(token + "b") != shown
    assert redact.json_value({"token": ""}) == {"token": ""}  # an empty token is not hidden
    assert redact.json_value({"token": None}) == {"token": None}
    # the hash is keyed per run: another run's key gives another text for the same secret
    old = redact.current_key()
    try:
        redact.new_key()
        assert redact.mark(token) != shown
    finally:
        redact.new_key(old)


def test_body_json_form_and_other() -> None:
    body = b'{"user": "ann", "password": "hunter2"}'
    assert json.loads(redact.body(body, "application/json; charset=utf-8")) == {
        "user": "ann",
        "password": redact.mark("hunter2"),
    }
    unchanged = b'{ "user" : "ann" }'
    assert redact.body(unchanged, "application/json") is unchanged  # exact bytes kept when nothing is secret
    assert redact.body(b"user=ann&password=hunter2", "application/x-www-form-urlencoded") == (
        f"user=ann&password={u('hunter2')}".encode()
    )
    assert redact.body(b"password=hunter2", "text/plain") == b"password=hunter2"
    assert redact.body(b"{not json", "application/json") == b"{not json"
    assert redact.body(b"", "application/json") == b""
    big = b'{"id": 123456789012345678901234567890, "token": "t"}'
    assert json.loads(redact.body(big, "application/json")) == {
        "id": 123456789012345678901234567890,
        "token": redact.mark("t"),
    }


def test_a_body_without_content_type_is_read_by_its_look() -> None:
    assert json.loads(redact.body(b'{"password": "hunter2"}', None)) == {"password": m("hunter2")}
    assert redact.body(b"user=ann&password=hunter2", None) == f"user=ann&password={u('hunter2')}".encode()
    assert redact.body(b"password is hunter2", None) == b"password is hunter2"


def test_text_marks_urls_tokens_and_found_values() -> None:
    message = f"GET https://u:pw@api.test/?k=a%2Fb%3Dc&code=x failed with s3cr3t/xy and a/b=c and {JWT}"
    shown = redact.text(message, ("s3cr3t/xy", "a/b=c"))
    assert shown == (
        f"GET https://{u('u:pw')}@api.test/?k={u('a/b=c')}&code={u('x')} failed with {m('s3cr3t/xy')}"
        f" and {m('a/b=c')} and {m(JWT)}"
    )
    # An absolute-form target sent to a proxy lands after the backend's URL in a client's message.
    assert "alice" not in redact.text("InvalidURL: http://127.0.0.1:8000http://alice@host/")


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


# --- properties: the secret never survives ----------------------------------------------------------

secrets = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-", min_size=8, max_size=30
)
SCAFFOLD = (
    "backend said Bearer [redacted: 12 chars, sha256 …] redacted- authorization cookie set-cookie sid"
    " Path=/ HttpOnly https://api.test/v1/items"
)


def _ok(secret: str) -> None:
    assume(secret not in SCAFFOLD and secret.lower() not in SCAFFOLD.lower())


@given(secrets, st.sampled_from(["Bearer", "Basic", "Token"]))
def test_secret_never_survives_in_headers(secret: str, scheme: str) -> None:
    _ok(secret)
    h = (
        ("authorization", f"{scheme} {secret}"),
        ("cookie", f"sid={secret}; other={secret}"),
        ("set-cookie", f"sid={secret}; Path=/; HttpOnly"),
        ("x-api-key", secret),
        ("x-my-session", secret),
    )
    assert secret not in repr(redact.headers(h))


@given(
    secrets,
    st.sampled_from(["access_token", "apiKey", "client_secret", "password", "sig", "key", "X-Amz-Signature"]),
)
def test_secret_never_survives_in_urls(secret: str, param: str) -> None:
    _ok(secret)
    # A "secret" that is part of the URL's own text (the parameter name, say) is shown by design.
    assume(secret not in f"https://user:@api.test/v1/items?page=1&{param}=&x=2")
    assert secret not in redact.url(f"https://api.test/v1/items?page=1&{param}={quote(secret)}&x=2")
    assert secret not in redact.url(f"https://user:{secret}@api.test/v1/items")


json_docs = st.recursive(
    st.integers() | st.text(max_size=5),
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "items", "data"]), c, max_size=3)
    ),
    max_leaves=8,
)


@given(
    secrets,
    json_docs,
    st.sampled_from(["password", "accessToken", "Refresh-Token", "client_secret", "cvv"]),
    st.data(),
)
def test_secret_never_survives_in_nested_json(secret: str, doc: Any, key: str, data: st.DataObject) -> None:
    _ok(secret)
    depth = data.draw(st.integers(min_value=0, max_value=4))
    value: Any = {key: secret}
    for i in range(depth):
        value = [value] if i % 2 else {"data": value}
    wrapper = {"doc": doc, "payload": value}
    assert secret not in json.dumps(redact.json_value(wrapper))
    assert secret.encode() not in redact.body(json.dumps(wrapper).encode(), "application/json")
    assert secret.encode() not in redact.body(
        f"user=x&{key}={quote(secret)}".encode(), "application/x-www-form-urlencoded"
    )


@given(st.lists(secrets, min_size=1, max_size=3), st.text(alphabet=" !?,:;()", max_size=20))
def test_secret_never_survives_in_text(known: list[str], noise: str) -> None:
    for secret in known:
        _ok(secret)
    message = f"{noise} backend said {known[0]} / {quote(known[-1], safe='')}{noise}"
    out = redact.text(message, known)
    assert not any(secret in out for secret in known)


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
