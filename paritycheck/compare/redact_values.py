"""Secrets by value: the exact secrets a request carries, found again wherever they reappear.

A backend that echoes the request's cookie, its ``X-Api-Key``, the Bearer token or the ``password``
query parameter puts them in its answer under names nothing recognises (``"note": "hello <key>"``, an
HTML page, a ``Location``). :func:`of_request` collects the request's secret values once per exchange
(by the names of :mod:`~paritycheck.compare.redact_names`, by look through
:mod:`paritycheck.common.secrets`, and from the user information of its URL); :func:`scrub_text` and
:func:`scrub_bytes` replace each of them, and every recognised token, by its mark. They look for the
forms a value takes in transit (as is, percent-encoded, HTML- or JSON-escaped).

Values shorter than :data:`MIN_LENGTH` (cookies: :data:`MIN_COOKIE`) are not searched for: they match
ordinary text ("dark", "en-GB", "true"), and guessing them is as easy as reading them. They are still
redacted where they sit, by name.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from paritycheck.common import jsonparse
from paritycheck.common import secrets as looks
from paritycheck.compare.redact_marks import mark
from paritycheck.compare.redact_names import is_secret_header, is_secret_name, is_secret_param
from paritycheck.models import Request, header

#: The request's secret values, longest first (so a value inside another is replaced after it).
Found = tuple[str, ...]
MIN_LENGTH = 6
MIN_COOKIE = 8


def _add(values: set[str], value: str, minimum: int = MIN_LENGTH) -> None:
    value = value.strip()
    if len(value) >= minimum:
        values.add(value)


def _authorization(value: str, values: set[str]) -> None:
    scheme, space, credentials = value.strip().partition(" ")
    credentials = credentials.strip() if space else scheme
    _add(values, credentials)
    if scheme.lower() == "basic" and space:
        try:
            pair = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return
        _add(values, pair)
        _add(values, pair.partition(":")[2])


def _header_values(name: str, value: str, values: set[str]) -> None:
    if name in ("authorization", "proxy-authorization"):
        _authorization(value, values)
    elif name == "cookie":
        for pair in value.split(";"):
            _add(values, pair.partition("=")[2].strip().strip('"'), MIN_COOKIE)  # RFC 6265 allows quotes
    elif is_secret_header(name):
        _add(values, value)


def _decoded(text: str) -> str:
    return unquote_plus(text) if "%" in text or "+" in text else text


def _query_values(query: str, values: set[str]) -> None:
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if not eq or not value:
            continue
        decoded = _decoded(value)
        if is_secret_param(_decoded(name)) or looks.is_token(decoded):
            _add(values, decoded)


def _path_values(url: str, values: set[str]) -> None:
    rest = url
    if "//" in url:
        authority, rest = looks.split_authority(url)
        split = looks.split_userinfo(authority) if "@" in authority else None
        if split is not None:
            user, _, password = unquote(split[1]).partition(":")
            _add(values, password or user)
    path = rest.partition("?")[0].partition("#")[0]
    if len(path) < 20:
        return
    for segment in path.split("/"):
        if len(segment) >= 19:
            decoded = unquote(segment)
            if looks.is_token(decoded):
                _add(values, decoded)


def _json_values(value: Any, values: set[str], secret: bool = False) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _json_values(v, values, secret or is_secret_name(k))
    elif isinstance(value, list):
        for v in value:
            _json_values(v, values, secret)
    elif secret and type(value) in (str, int):
        _add(values, str(value))


_FORM = re.compile(rb"[A-Za-z0-9_.~%+\[\]-]+=[^&\s]*(?:&[A-Za-z0-9_.~%+\[\]-]+=?[^&\s]*)*")


def media_type(content_type: str | None, data: bytes) -> str:
    """The media type of a body: its ``Content-Type``, else what it looks like (JSON or a form), since
    captures and clients often leave the header out."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media or not data:
        return media
    first = data[:64].lstrip()[:1]
    if first in (b"{", b"["):
        return "application/json"
    if len(data) <= 65536 and _FORM.fullmatch(data):
        return "application/x-www-form-urlencoded"
    return media


def _body_values(request: Request, values: set[str]) -> None:
    body = request.body
    if not body or len(body) > 1024 * 1024:
        return
    media = media_type(header(request.headers, "content-type"), body)
    if media == "application/x-www-form-urlencoded":
        _query_values(body.decode("utf-8", "replace"), values)
    elif "json" in media:
        try:
            _json_values(jsonparse.loads(body), values)
        except ValueError:
            return


def of_request(request: Request) -> Found:
    """The secret values ``request`` carries: credentials of its headers (the whole Bearer token, Basic's
    encoded and decoded pair and password), cookie values, secret-named and token-looking query and form
    values, secret-named JSON values, tokens in its path, and its URL's user information."""
    values: set[str] = set()
    for name, value in request.headers:
        _header_values(name, value, values)
    if request.query:
        _query_values(request.query, values)
    _path_values(request.url, values)
    if request.path not in request.url:
        _path_values(request.path, values)
    _body_values(request, values)
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


# ------------------------------------------------------------------------------------------ replacing


#: A value of only these characters is written the same way in every form below.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


@functools.lru_cache(maxsize=4096)
def text_forms(secret: str) -> tuple[str, ...]:
    """How ``secret`` may be written in text: as is, percent-encoded (two ways), HTML-escaped."""
    if _PLAIN.fullmatch(secret):
        return (secret,)
    forms = dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret, safe=""), html.escape(secret)))
    return tuple(forms)


@functools.lru_cache(maxsize=4096)
def byte_forms(secret: str) -> tuple[bytes, ...]:
    """:func:`text_forms` as UTF-8, plus the JSON-escaped forms (``\\/``, ``\\u00e9``)."""
    if _PLAIN.fullmatch(secret):
        return (secret.encode(),)
    escaped = json.dumps(secret)[1:-1]
    forms = [*text_forms(secret), json.dumps(secret, ensure_ascii=False)[1:-1], escaped]
    forms.append(escaped.replace("/", "\\/"))
    return tuple(dict.fromkeys(f.encode("utf-8", "surrogatepass") for f in forms))


def present(data: bytes, found: Found) -> Found:
    """The values of ``found`` that occur in ``data``, in any form."""
    hits = []
    for secret in found:  # loops, not any() over a generator: this runs for every body stored
        for form in byte_forms(secret):
            if form in data:
                hits.append(secret)
                break
    return tuple(hits)


def present_in_text(text: str, found: Found) -> Found:
    """The values of ``found`` that occur in ``text``, in any form."""
    hits = []
    for secret in found:
        for form in text_forms(secret):
            if form in text:
                hits.append(secret)
                break
    return tuple(hits)


def scrub_text(text: str, found: Iterable[str], marker: Callable[[str], str] = mark) -> str:
    """``text`` with every form of each ``found`` value, and every recognised token, replaced."""
    for secret in found:
        for form in text_forms(secret):
            if form in text:
                text = text.replace(form, marker(secret))
    if looks.has_token(text):
        text = looks.TOKEN.sub(lambda m: marker(m.group()), text)
    return text


def scrub_bytes(data: bytes, found: Iterable[str]) -> bytes:
    """``data`` (any text encoding that keeps ASCII) with the ``found`` values and tokens replaced."""
    for secret in found:
        for form in byte_forms(secret):
            if form in data:
                data = data.replace(form, mark(secret).encode())
    spans = looks.token_spans(data)
    for start, end in reversed(spans):
        data = data[:start] + mark(data[start:end].decode("utf-8", "replace")).encode() + data[end:]
    return data
