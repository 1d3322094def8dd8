"""redact by name: headers, cookies, URLs, query strings, JSON and form bodies, free text; marks."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from paritycheck.compare import redact, redact_names
from tests.redactcase import AWS, GITHUB, JWT, RANDOM, fixed_key, m, u

__all__ = ["fixed_key"]  # applies the tests' redaction key to every test here


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


_FLAT_FRAGMENTS = re.compile(
    rb"pass|secret|token|apikey|privatekey|session|auth|card|cvv|cvc|csrf|xsrf|pwd|pin|otp|ssn|sig"
    rb"|cookie|key|code|xamz|credential|jwt"
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="pastwdinecrosgkyuhvfxmzlj0_- ", max_size=40))
def test_the_grouped_secret_fragments_find_what_the_flat_list_finds(text: str) -> None:
    data = text.encode()
    found = redact_names._SECRET_FRAGMENTS.search(data)
    assert (found is None) == (_FLAT_FRAGMENTS.search(data) is None)
