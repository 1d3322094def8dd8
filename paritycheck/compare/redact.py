"""Secret redaction, applied before anything is stored, printed or rendered.

Secrets are recognised three ways, and each is replaced by a mark that keeps its comparability (a keyed
hash: equal secrets stay equal, different ones different; :mod:`~paritycheck.compare.redact_marks`):

- **by name**: header names, query and form parameter names, JSON keys
  (:mod:`~paritycheck.compare.redact_names`);
- **by look**: JWTs, well-known token prefixes and private keys anywhere; random-looking strings in a
  URL's path and query; a URL's user information (:mod:`paritycheck.common.secrets`);
- **by value**: the request's own secrets (cookie, credentials, secret headers and parameters) wherever
  they reappear, in its answers above all (:mod:`~paritycheck.compare.redact_values`). The functions
  here take those values as ``found`` (:func:`request_secrets`); without them only the first two apply.

Every function returns something the next stage can parse: a redacted URL is still a URL (its marks are
``redacted-1a2b3c4d``), a redacted JSON body still JSON.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from paritycheck.common import jsonparse
from paritycheck.common import secrets as looks
from paritycheck.compare.redact_marks import (
    KEY_ENV,
    REDACTED,
    current_key,
    holds_mark,
    inherited_key,
    is_mark,
    mark,
    new_key,
    unkeyed,
    url_mark,
)
from paritycheck.compare.redact_names import (
    is_secret_header,
    is_secret_name,
    is_secret_param,
    may_hold_secret_name,
)
from paritycheck.compare.redact_values import (
    Found,
    media_type,
    of_request,
    present,
    present_in_text,
    scrub_bytes,
    scrub_text,
)
from paritycheck.models import Exchange, Headers, Request, header

__all__ = [
    "KEY_ENV",
    "REDACTED",
    "Found",
    "body",
    "current_key",
    "cut_edges",
    "exchange",
    "header_value",
    "headers",
    "holds_mark",
    "inherited_key",
    "is_mark",
    "is_secret_header",
    "is_secret_name",
    "json_value",
    "mark",
    "new_key",
    "query",
    "request_secrets",
    "text",
    "unkeyed",
    "url",
    "url_mark",
]

_NONE: Found = ()
#: Headers whose value is a URL (or holds URLs, as ``Link: <...>; rel=next`` does).
_URL_HEADERS = frozenset({"location", "content-location", "referer", "origin", "link", "refresh"})


def request_secrets(request: Request) -> Found:
    """The secret values of ``request``, to be found again in its answers (see :mod:`redact_values`)."""
    return of_request(request)


# ---------------------------------------------------------------------------------------------- headers


def _cookie_pairs(value: str) -> str:
    pairs = []
    for pair in value.split(";"):
        name, eq, secret = pair.partition("=")
        pairs.append(f"{name}={mark(secret)}" if eq else pair)
    return ";".join(pairs)


def _set_cookie(value: str) -> str:
    # Only the first pair is the cookie; Path, Domain, Expires and flags are kept for the report.
    first, sep, attributes = value.partition(";")
    name, eq, secret = first.partition("=")
    return f"{name}={mark(secret)}{sep}{attributes}" if eq else mark(value)


_IN_ANGLES = re.compile(r"<([^<>]*)>")


def _by_name(lower: str, value: str, found: Found) -> str:
    """A header's value redacted by the header's name (credentials, cookies) or as the URL it holds."""
    if lower in ("authorization", "proxy-authorization"):
        scheme, space, credentials = value.strip().partition(" ")
        return f"{scheme} {mark(credentials)}" if space else str(mark(value))
    if lower == "cookie":
        return _cookie_pairs(value)
    if lower == "set-cookie":
        return _set_cookie(value)
    if is_secret_header(lower):
        return str(mark(value))
    if lower in _URL_HEADERS:
        if lower == "link":
            return _IN_ANGLES.sub(lambda m: f"<{url(m.group(1), found)}>", value)
        if lower == "refresh":
            delay, sep, target = value.partition("=")
            return f"{delay}{sep}{url(target, found)}" if sep else value
        return url(value, found)
    return value


def header_value(name: str, value: str, found: Found = _NONE) -> str:
    """The value of header ``name`` as it may be shown."""
    return text(_by_name(name.lower(), value, found), found)


def headers(h: Headers, found: Found = _NONE) -> Headers:
    """Headers with secret values redacted (names and order kept)."""
    named = [(name, _by_name(name.lower(), value, found)) for name, value in h]
    # Values are searched all at once: most header sets hold no token, URL or request secret.
    blob = "\n".join(value for _, value in named)
    hits = present_in_text(blob, found) if found else _NONE
    if hits or "://" in blob or looks.has_token(blob):
        return tuple((name, text(value, hits)) for name, value in named)
    return tuple(named)


# -------------------------------------------------------------------------------------------------- URLs


def _value(raw: str, found: Found, *, plus: bool) -> str:
    """One path segment or query value: marked whole when it is a secret, else with tokens marked."""
    if not raw:
        return raw
    decoded = (unquote_plus(raw) if plus else unquote(raw)) if ("%" in raw or (plus and "+" in raw)) else raw
    if decoded in found or looks.is_token(decoded):
        return url_mark(decoded)
    if "?" in decoded and "=" in decoded and ("//" in decoded or decoded.startswith("/")):
        inner = url(decoded, found)  # a URL in a parameter (redirect_uri=...) has a query of its own
        if inner != decoded:
            return quote(inner, safe="")
    return scrub_text(raw, found, url_mark)


def query(q: str, found: Found = _NONE) -> str:
    """A query string (or form body) with secret values redacted: secret-named parameters, values that
    are tokens or random strings, and the ``found`` values."""
    if not q:
        return q
    out = []
    for part in q.split("&"):
        name, eq, value = part.partition("=")
        if eq and value and is_secret_param(unquote_plus(name)):
            out.append(f"{name}={url_mark(unquote_plus(value))}")
        elif eq:
            out.append(f"{_value(name, found, plus=True)}={_value(value, found, plus=True)}")
        else:
            out.append(_value(part, found, plus=True))
    return "&".join(out)


def _path(path: str, found: Found) -> str:
    if "@" in path and "://" in path:  # an absolute URL inside the path: its user information too
        path = looks.hide_userinfo(path, lambda userinfo: url_mark(unquote(userinfo)))
    return "/".join(_value(segment, found, plus=False) for segment in path.split("/"))


def url(u: str, found: Found = _NONE) -> str:
    """A URL (or a target, ``/path?query``) with its user information, secret path segments, secret query
    values and fragment parameters redacted. The result is still a URL (marks are unreserved text)."""
    if not u:
        return u
    if found:
        found = present_in_text(u, found)
    if not found and "@" not in u and "%" not in u and u.count("?") < 2 and not _may_hold_token(u):
        # No user information, no request secret, nothing long enough to be a token, no URL inside:
        # only names can make a value secret (the common case, kept cheap: it runs for every exchange).
        return u if "=" not in u else _names_only(u)
    authority, rest = looks.split_authority(u)
    if "@" in authority:
        before, userinfo, after = looks.split_userinfo(authority) or (authority, "", "")
        authority = f"{before}{url_mark(unquote(userinfo))}{after}"
    base, hash_, fragment = rest.partition("#")
    path, qmark, q = base.partition("?")
    # Fragments carry tokens in OAuth implicit flows (#access_token=...).
    fragment = query(fragment, found) if "=" in fragment else _value(fragment, found, plus=False)
    return f"{authority}{_path(path, found)}{qmark}{query(q, found)}{hash_}{fragment}"


#: What a token needs (common/secrets.py): 19 characters in a row of those it is made of. A random
#: string may hold "/" (base64) in a query value, but "/" separates a path's segments.
_LONG_RUN_PATH = re.compile(r"[A-Za-z0-9_.~+=%-]{19}")
_LONG_RUN_QUERY = re.compile(r"[A-Za-z0-9_.~+/=%-]{19}")


def _may_hold_token(u: str) -> bool:
    path, qmark, rest = u.partition("?")
    if not qmark:
        path, _, rest = u.partition("#")
    return _LONG_RUN_PATH.search(path) is not None or _LONG_RUN_QUERY.search(rest) is not None


def _names_only(u: str) -> str:
    """:func:`url` for a URL in which only a parameter's name can make its value secret."""
    base, hash_, fragment = u.partition("#")
    path, qmark, q = base.partition("?")
    return f"{path}{qmark}{_named(q)}{hash_}{_named(fragment)}"


def _named(q: str) -> str:
    if "=" not in q:
        return q
    out = []
    for part in q.split("&"):
        name, eq, value = part.partition("=")
        secret = eq and value and is_secret_param(name.replace("+", " "))
        out.append(f"{name}={url_mark(unquote_plus(value))}" if secret else part)
    return "&".join(out)


def text(s: str, found: Found = _NONE) -> str:
    """Free text (a failure reason, an error message) with the user information of its URLs, their
    secret query values, every recognised token and every ``found`` value redacted."""
    if not s:
        return s
    if "://" in s:
        s = looks.hide_userinfo(s, lambda userinfo: url_mark(unquote(userinfo)))
        s = _URL_IN_TEXT.sub(lambda m: url(m.group(), found), s)
    return scrub_text(s, found)


_URL_IN_TEXT = re.compile(r"(?i)[a-z][a-z0-9+.-]*://[^\s'\"<>]+")


# ------------------------------------------------------------------------------------------------ cuts

#: How compare marks a text it cut (compare/comparator.py, compare/diff.py): a window that starts inside
#: the text, and an end cut off (with the full size).
_CUT_START = re.compile(r"… \[from char \d+\] ")
_CUT_END = re.compile(r"…(?: \[\d+ (?:chars|digits|bytes)\])?$")
_RUN_AT_START = re.compile(r"[A-Za-z0-9_.~+/=%-]+")
_RUN_AT_END = re.compile(r"[A-Za-z0-9_.~+/=%-]+$")
#: A piece of a token left at a cut is marked from this many characters on (a word's end is shorter).
MIN_CUT_PIECE = 8


def _piece(run: str, found: Found, *, at_start: bool) -> bool:
    """Whether ``run``, cut off at one edge of a window, may be a piece of a secret."""
    if len(run) >= MIN_CUT_PIECE:
        return True
    for secret in found:  # the end (at a window's start) or the beginning (at its end) of a secret
        for k in range(min(len(secret) - 1, len(run)), 3, -1):
            if run.startswith(secret[-k:]) if at_start else run.endswith(secret[:k]):
                return True
    return False


def cut_edges(s: str, found: Found = _NONE) -> str:
    """A text that compare cut to a window (``… [from char N] ...…``) or a bound (``...… [N chars]``),
    with a piece of a secret at either cut marked: a cut can split a token or a request's secret so
    that neither its look nor its value is recognised any more. Other texts are returned as they are."""
    if "…" not in s:
        return s
    head = _CUT_START.match(s)
    if head is not None:
        run = _RUN_AT_START.match(s, head.end())
        if run is not None and _piece(run.group(), found, at_start=True):
            s = s[: run.start()] + str(mark(run.group())) + s[run.end() :]
    tail = _CUT_END.search(s)
    if tail is not None:
        run = _RUN_AT_END.search(s, 0, tail.start())
        if run is not None and _piece(run.group(), found, at_start=False):
            s = s[: run.start()] + str(mark(run.group())) + s[run.end() :]
    return s


# ------------------------------------------------------------------------------------------------ bodies


def _walk(v: Any, found: Found, scan: bool) -> Any:
    if isinstance(v, dict):
        return {
            (_scrub(k, found) if scan else k): mark(x) if is_secret_name(k) else _walk(x, found, scan)
            for k, x in v.items()
        }
    if isinstance(v, list):
        return [_walk(x, found, scan) for x in v]
    if scan:
        kind = type(v)
        if kind is str:
            return _scrub(v, found)
        if kind is int and found and str(v) in found:
            return mark(v)
    return v


def _scrub(s: str, found: Found) -> str:
    return scrub_text(s, found) if (found or len(s) >= 19) else s


def json_value(v: Any, found: Found = _NONE, *, scan: bool = True) -> Any:
    """A copy of a parsed JSON value with secrets redacted: the values of secret-named keys (objects and
    arrays included), and in every string the recognised tokens and ``found`` values.

    Null, boolean and empty-string values are kept (``"password_set": true`` tells nothing away).
    ``scan=False`` skips the search of strings (when the raw text showed there is nothing to find).
    """
    return _walk(v, found, scan)


def body(data: bytes, content_type: str | None, found: Found = _NONE) -> bytes:
    """A body with secrets redacted: JSON by key and value, form-urlencoded by parameter and value,
    anything else by value (tokens and ``found``).

    The body is rewritten only when something was redacted, so other bodies keep their exact bytes.
    """
    if not data:
        return data
    media = media_type(content_type, data)
    hits = present(data, found) if found else _NONE
    tokens = bool(looks.token_spans(data))
    if "json" in media:
        if not (hits or tokens or may_hold_secret_name(data)):
            return data
        try:
            parsed = jsonparse.loads(data)
        except ValueError:
            return scrub_bytes(data, hits) if hits or tokens else data
        redacted = json_value(parsed, hits, scan=bool(hits or tokens))
        return data if redacted == parsed else jsonparse.dumps(redacted)
    if media == "application/x-www-form-urlencoded":
        try:
            text_ = data.decode("utf-8")
        except UnicodeDecodeError:
            return scrub_bytes(data, hits)
        return query(text_, found).encode("utf-8")
    return scrub_bytes(data, hits) if hits or tokens else data


def exchange(ex: Exchange) -> Exchange:
    """A captured exchange with secrets redacted in its URL, headers and bodies, for recording it.

    Method, status, ``started``, ``page`` and ``skip`` are kept, and the path and query keep their shape,
    so the recorded capture replays the same requests (with redacted credentials, which ``[auth]``
    logins replace on replay).
    """
    request = ex.request
    found = request_secrets(request)
    redacted_request = replace(
        request,
        url=url(request.url, found),
        path=_path(request.path, found),
        query=query(request.query, found),
        headers=headers(request.headers, found),
        body=None
        if request.body is None
        else body(request.body, header(request.headers, "content-type"), found),
    )
    recorded = ex.recorded
    if recorded is not None:
        recorded = replace(
            recorded,
            headers=headers(recorded.headers, found),
            body=None
            if recorded.body is None
            else body(recorded.body, header(recorded.headers, "content-type"), found),
        )
    return replace(ex, request=redacted_request, recorded=recorded)
