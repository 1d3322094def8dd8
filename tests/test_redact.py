"""redact: headers, cookies, URLs, query strings, JSON and form bodies, free text."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from paritycheck.compare import redact


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("authorization", "Bearer abc.def.ghi", "Bearer [redacted]"),
        ("authorization", "Basic dXNlcjpwYXNz", "Basic [redacted]"),
        ("authorization", "justatoken", "[redacted]"),
        ("proxy-authorization", "Digest username=x, response=y", "Digest [redacted]"),
        ("cookie", "sid=abc; theme=dark", "sid=[redacted]; theme=[redacted]"),
        (
            "set-cookie",
            "sid=abc; Path=/; HttpOnly; SameSite=Lax",
            "sid=[redacted]; Path=/; HttpOnly; SameSite=Lax",
        ),
        ("x-api-key", "k1", "[redacted]"),
        ("x-auth-token", "t", "[redacted]"),
        ("api-key", "k", "[redacted]"),
        ("x-csrf-token", "c", "[redacted]"),
        ("x-amz-security-token", "s", "[redacted]"),
        ("x-session-id", "s", "[redacted]"),
        ("x-hub-signature-256", "sha256=abc", "[redacted]"),
        ("x-client-secret", "s", "[redacted]"),
        ("content-type", "application/json", "application/json"),
        ("www-authenticate", 'Bearer realm="api"', 'Bearer realm="api"'),
        ("x-request-id", "r-1", "r-1"),
    ],
)
def test_headers(name: str, value: str, expected: str) -> None:
    assert redact.headers(((name, value),)) == ((name, expected),)


def test_headers_keep_names_and_order() -> None:
    h = (("accept", "*/*"), ("authorization", "Bearer x"), ("accept", "text/html"))
    assert redact.headers(h) == (
        ("accept", "*/*"),
        ("authorization", "Bearer [redacted]"),
        ("accept", "text/html"),
    )


@pytest.mark.parametrize(
    ("u", "expected"),
    [
        ("https://api.test/x?access_token=abc&page=2", "https://api.test/x?access_token=[redacted]&page=2"),
        (
            "/x?apiKey=1&key=2&sig=3&code=4&q=5",
            "/x?apiKey=[redacted]&key=[redacted]&sig=[redacted]&code=[redacted]&q=5",
        ),
        ("https://user:hunter2@db.test/path", "https://user:[redacted]@db.test/path"),
        ("https://tok@host/", "https://[redacted]@host/"),
        (
            "https://app.test/cb#access_token=abc&state=1",
            "https://app.test/cb#access_token=[redacted]&state=1",
        ),
        ("/plain/path", "/plain/path"),
        ("/x?flag&password=", "/x?flag&password=[redacted]"),
        ("/x?X-Amz-Signature=abc&X-Amz-Date=1", "/x?X-Amz-Signature=[redacted]&X-Amz-Date=1"),
    ],
)
def test_url(u: str, expected: str) -> None:
    assert redact.url(u) == expected


def test_query_decodes_names() -> None:
    assert redact.query("client%5Fsecret=x&a=1") == "client%5Fsecret=[redacted]&a=1"
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
    ],
)
def test_json_secret_keys_in_any_style(key: str) -> None:
    assert redact.json_value({"outer": [{key: "s3cr3t", "other": "keep"}]}) == {
        "outer": [{key: redact.mark("s3cr3t"), "other": "keep"}]
    }


@pytest.mark.parametrize(
    "key", ["token_type", "total_tokens", "max_tokens", "tokens", "id", "name", "session"]
)
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
    assert (
        redact.body(b"user=ann&password=hunter2", "application/x-www-form-urlencoded")
        == b"user=ann&password=[redacted]"
    )
    assert redact.body(b"password=hunter2", "text/plain") == b"password=hunter2"
    assert redact.body(b"{not json", "application/json") == b"{not json"
    assert redact.body(b"", "application/json") == b""
    big = b'{"id": 123456789012345678901234567890, "token": "t"}'
    assert json.loads(redact.body(big, "application/json")) == {
        "id": 123456789012345678901234567890,
        "token": redact.mark("t"),
    }


def test_text_scrubs_known_secrets_plain_and_url_encoded() -> None:
    message = "GET https://api.test/?k=a%2Fb%3Dc failed with header s3cr3t/x and a/b=c"
    assert redact.text(message, ["a/b=c", "s3cr3t/x", "", "ab"]) == (
        "GET https://api.test/?k=[redacted] failed with header [redacted] and [redacted]"
    )


# --- properties: the secret never survives ----------------------------------------------------------

secrets = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-", min_size=8, max_size=30
)
SCAFFOLD = "backend said Bearer [redacted] authorization cookie set-cookie sid Path=/ HttpOnly https://api.test/v1/items"


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
