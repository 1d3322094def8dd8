"""Secret redaction, applied before anything is stored or shown.

Secrets are recognised by name: header names, query and form parameter names, JSON keys. Names are
compared without case and without ``_``, ``-`` or ``.``, so ``accessToken``, ``Access-Token`` and
``access_token`` are one name. A name is secret when it contains one of :data:`_SECRET_PARTS`
(``password``, ``secret``, ``apikey``, ...), ends with ``token`` (``total_tokens`` and ``token_type``
are not secrets), or is one of a few short exact names (``pwd``, ``otp``, ``sig``). Header
names are wider: anything containing ``token``, ``secret``, ``password``, ``apikey``, ``session``,
``signature``, ``credential``, plus ``authorization`` and cookies. Values of known secrets (such as
configured backend headers) are scrubbed from free text with :func:`text`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from paritycheck.common import jsonparse
from paritycheck.models import Exchange, Headers, header

REDACTED = "[redacted]"
_KEY = secrets.token_bytes(32)

_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "privatekey",
    "sessionid",
    "sessiontoken",
    "authorization",
    "cardnumber",
    "creditcard",
    "cvv",
    "cvc",
    "csrf",
    "xsrf",
)
_SECRET_EXACT = frozenset({"pwd", "pin", "otp", "ssn", "auth", "sig", "signature", "cookie", "setcookie"})
_HEADER_PARTS = ("token", "secret", "password", "passwd", "apikey", "session", "signature", "credential")
#: Query parameters that carry credentials in URLs besides the names above (``?key=AIza...``).
_QUERY_EXACT = frozenset({"key", "code", "accesskey", "xamzcredential", "xamzsignature", "xamzsecuritytoken"})
_NOT_NAME = re.compile(r"[^a-z0-9]")
_name_cache: dict[str, str] = {}


def _compact(name: str) -> str:
    out = _name_cache.get(name)
    if out is None:
        out = _NOT_NAME.sub("", name.lower())
        if len(_name_cache) > 10_000:
            _name_cache.clear()
        _name_cache[name] = out
    return out


def is_secret_name(name: str) -> bool:
    """True when a JSON key or parameter named ``name`` holds a secret."""
    c = _compact(name)
    return c.endswith("token") or c in _SECRET_EXACT or any(part in c for part in _SECRET_PARTS)


def is_secret_header(name: str) -> bool:
    """True when a header named ``name`` holds a secret."""
    c = _compact(name)
    return is_secret_name(name) or any(part in c for part in _HEADER_PARTS)


def _cookie_pairs(value: str) -> str:
    pairs = []
    for pair in value.split(";"):
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if eq else pair)
    return ";".join(pairs)


def _set_cookie(value: str) -> str:
    # Only the first pair is the cookie; Path, Domain, Expires and flags are kept for the report.
    first, sep, attributes = value.partition(";")
    name, eq, _ = first.partition("=")
    return f"{name}={REDACTED}{sep}{attributes}" if eq else REDACTED


def header_value(name: str, value: str) -> str:
    """The value of header ``name`` as it may be shown."""
    lower = name.lower()
    if lower in ("authorization", "proxy-authorization"):
        scheme, space, _ = value.strip().partition(" ")
        return f"{scheme} {REDACTED}" if space else REDACTED
    if lower == "cookie":
        return _cookie_pairs(value)
    if lower == "set-cookie":
        return _set_cookie(value)
    if is_secret_header(lower):
        return REDACTED
    return value


def headers(h: Headers) -> Headers:
    """Headers with secret values redacted (names and order kept)."""
    return tuple((name, header_value(name, value)) for name, value in h)


def _secret_param(name: str) -> bool:
    return is_secret_name(name) or _compact(name) in _QUERY_EXACT


def query(q: str) -> str:
    """A query string (or form body) with the values of secret-looking parameters redacted."""
    if not q:
        return q
    out = []
    for part in q.split("&"):
        name, eq, _ = part.partition("=")
        out.append(f"{name}={REDACTED}" if eq and _secret_param(unquote_plus(name)) else part)
    return "&".join(out)


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#@]*)@")


def url(u: str) -> str:
    """A URL with its password (``user:pass@``) and secret query values redacted."""
    if "@" not in u and "=" not in u:  # no userinfo and no parameters: nothing can be secret
        return u

    def userinfo(m: re.Match[str]) -> str:
        user, colon, _ = m.group(2).partition(":")
        return f"{m.group(1)}{user}:{REDACTED}@" if colon else f"{m.group(1)}{REDACTED}@"

    u = _USERINFO.sub(userinfo, u, count=1)
    base, hash_, fragment = u.partition("#")
    path, qmark, q = base.partition("?")
    # Fragments carry tokens in OAuth implicit flows (#access_token=...).
    fragment = query(fragment) if "=" in fragment else fragment
    return f"{path}{qmark}{query(q)}{hash_}{fragment}"


def new_key(key: bytes | None = None) -> bytes:
    """Start a new run's redaction key (random unless given); returns it, for a helper process to share."""
    global _KEY
    _KEY = key if key is not None else secrets.token_bytes(32)
    return _KEY


def current_key() -> bytes:
    """The redaction key of the current run."""
    return _KEY


def mark(value: Any) -> Any:
    """What a redacted value shows: its size and a keyed hash, so different values stay distinguishable.

    ``[redacted: 269 chars, sha256 1a2b3c4d…]``. The hash is an HMAC under a key that lives only in this
    run's processes (:func:`new_key`), so it cannot be looked up or brute-forced from the stored text.
    Null, booleans and the empty string hide nothing and are kept as they are.
    """
    if value is None or value == "" or type(value) is bool:
        return value
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    digest = hmac.new(_KEY, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:8]
    return f"{REDACTED[:-1]}: {len(text)} chars, sha256 {digest}…]"


def json_value(v: Any) -> Any:
    """A copy of a parsed JSON value with the values of secret-looking keys redacted.

    Null, boolean and empty-string values are kept (``"password_set": true`` tells nothing away); any
    other value under a secret key, object or array included, becomes its :func:`mark`.
    """
    if isinstance(v, dict):
        return {k: mark(x) if is_secret_name(k) else json_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [json_value(x) for x in v]
    return v


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


#: Bytes that :func:`_compact` drops from a name: everything but ASCII letters and digits.
_NON_ALNUM = bytes(b for b in range(256) if not (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122))
#: Every compacted secret name (JSON key, form parameter) contains one of these: a superset of
#: is_secret_name and _secret_param, so keep the two in step. A false positive costs only a parse.
_SECRET_FRAGMENTS = re.compile(
    rb"pass|secret|token|apikey|privatekey|session|auth|card|cvv|cvc|csrf|xsrf|pwd|pin|otp|ssn|sig"
    rb"|cookie|key|code|xamz"
)


def _may_hold_secret(data: bytes) -> bool:
    """False only when no key or parameter of ``data`` can be secret-named (cheap: no parsing).

    A secret name is contiguous in the raw bytes, so once the bytes are compacted like names are
    (lower-cased, non-alphanumerics dropped) it is a substring. Escapes (``\\u``, ``%``) and non-ASCII
    bytes can spell a name otherwise, so they always take the full path.
    """
    if not data.isascii() or b"\\u" in data or b"%" in data or b"+" in data:
        return True
    return _SECRET_FRAGMENTS.search(data.lower().translate(None, _NON_ALNUM)) is not None


def body(data: bytes, content_type: str | None) -> bytes:
    """A body with secrets redacted: JSON by key, form-urlencoded by parameter, anything else as is.

    The body is rewritten only when something was redacted, so other bodies keep their exact bytes.
    """
    media = _media_type(content_type)
    if not data or not _may_hold_secret(data):
        return data
    if "json" in media:
        try:
            parsed = jsonparse.loads(data)
        except ValueError:
            return data
        redacted = json_value(parsed)
        return data if redacted == parsed else jsonparse.dumps(redacted)
    if media == "application/x-www-form-urlencoded":
        try:
            text_ = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        return query(text_).encode("utf-8")
    return data


def text(s: str, secrets: Iterable[str]) -> str:
    """``s`` with every occurrence of each known secret (plain or URL-encoded) replaced.

    Secrets shorter than 4 characters are skipped: replacing them would garble the text and they
    protect nothing.
    """
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= 4:
            forms.update((secret, quote(secret, safe=""), quote_plus(secret)))
    for form in sorted(forms, key=len, reverse=True):
        s = s.replace(form, REDACTED)
    return s


def exchange(ex: Exchange) -> Exchange:
    """A captured exchange with secrets redacted in its URL, headers and bodies, for recording it.

    Path, method, status, ``started``, ``page`` and ``skip`` are kept, so the recorded capture replays
    the same requests (with redacted credentials, which ``[auth]`` logins replace on replay).
    """
    request = ex.request
    redacted_request = replace(
        request,
        url=url(request.url),
        query=query(request.query),
        headers=headers(request.headers),
        body=None if request.body is None else body(request.body, header(request.headers, "content-type")),
    )
    recorded = ex.recorded
    if recorded is not None:
        recorded = replace(
            recorded,
            headers=headers(recorded.headers),
            body=None
            if recorded.body is None
            else body(recorded.body, header(recorded.headers, "content-type")),
        )
    return replace(ex, request=redacted_request, recorded=recorded)
