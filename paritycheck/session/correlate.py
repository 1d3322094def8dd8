"""Correlation: values a backend generates, found in captured answers and swapped in later requests.

A *produced* value comes from a captured response: a JSON member whose key names an identifier (``id``,
``*_id``, ``uuid``, ``slug``, ``token``, ...), a ``Location`` header, a ``Set-Cookie``, or the place an
explicit ``[[correlate]]`` rule names. When the exchange is replayed, each backend's own value at the
same place (in the normalised body: envelope removed, keys in snake case) is learned, and later requests
of the session get that backend's value wherever the captured one was. Weak values (numbers, short
strings) are swapped only where identifiers live (path segments, members and query parameters named like
an identifier), so ``page=1`` never becomes ``page=1001``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

from paritycheck.common import jsonparse
from paritycheck.common.endpoints import _is_id
from paritycheck.common.jsonpath import JsonPath, Part
from paritycheck.compare import Rules, to_snake
from paritycheck.models import Headers, Reply, Request, header

__all__ = [
    "Learned",
    "Produced",
    "context",
    "id_like",
    "kind_of",
    "learn",
    "path_resource",
    "produced_values",
    "request_values",
    "rewrite",
    "scalar_text",
    "stem",
    "strong",
]

_ID_KEY = re.compile(r"(?:^|_)(id|ids|uuid|guid|slug|handle|token)$")
_WORDS = frozenset({"true", "false", "null", "none", "undefined"})
#: Request headers never searched for values: they describe the client, not the session.
_PLAIN_HEADERS = frozenset(
    {"accept", "accept-language", "accept-encoding", "user-agent", "content-type", "content-length",
     "origin", "referer", "host", "cache-control", "pragma", "connection", "x-requested-with"}
)  # fmt: skip
_PATH_SAFE = "-._~!$&'()*+,;=:@"
MAX_BODY = 2 * 1024 * 1024  # bodies parsed for values; larger ones are left alone


def id_like(name: str) -> bool:
    """Whether a member or parameter name names an identifier (``id``, ``goalId``, ``owner_slug``)."""
    return bool(_ID_KEY.search(to_snake(name).lower()))


_CONTAINERS = frozenset(
    {"items", "data", "results", "records", "rows", "list", "entries", "content", "objects", "values",
     "value", "payload", "result", "hits", "nodes", "edges", "node"}
)  # fmt: skip


def stem(word: str) -> str:
    """A resource name without its plural, so ``projects``, ``project`` and ``project_id`` agree."""
    word = to_snake(word).lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def context(name: str | None, parents: tuple[Part, ...] = ()) -> str:
    """What an identifier named ``name`` (inside ``parents``) identifies: ``project_id`` -> ``project``.

    ``""`` when nothing says (a bare ``id`` at the top of a body).
    """
    if name is not None:
        snake = to_snake(name).lower()
        match = _ID_KEY.search(snake)
        prefix = snake[: match.start()].rstrip("_") if match else ""
        if prefix:
            return stem(prefix)
    for part in reversed(parents):
        if isinstance(part, str) and to_snake(part).lower() not in _CONTAINERS:
            return stem(part)
    return ""


def path_resource(path: str) -> str:
    """The resource a path names: its last segment that is not an identifier (``comments``)."""
    for segment in reversed(path.split("/")):
        if segment and not _is_id(segment):
            return stem(unquote(segment))
    return ""


def kind_of(name: str) -> str:
    """The correlation kind counted in the summary: ``token``, ``slug`` or ``id``."""
    snake = to_snake(name).lower()
    if snake.endswith("token"):
        return "token"
    if snake.endswith(("slug", "handle")):
        return "slug"
    return "id"


def scalar_text(value: Any) -> str | None:
    """The text a scalar is known by (ints as digits); None for what is never correlated."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value and value.lower() not in _WORDS and len(value) <= 4096:
        return value
    return None


def strong(text: str) -> bool:
    """Whether a value is distinctive enough to be swapped wherever it appears (not only at id places)."""
    return len(text) >= 6 and not text.isdigit()


@dataclass(frozen=True, slots=True)
class Produced:
    """A value generated in a captured answer, and where to find its replayed counterpart."""

    kind: str
    value: str
    #: ``("json", parts, in_array)``, ``("header", name)``, ``("location", index)`` or ``("cookie", name)``.
    where: tuple[Any, ...]
    strong: bool
    #: What it identifies (a stemmed resource name, ``""`` if unknown): weak values are swapped only there.
    resource: str = ""


@dataclass(frozen=True, slots=True)
class Learned:
    """A backend's own value for a captured one."""

    kind: str
    captured: str
    value: Any
    resource: str = ""


def parse_json(body: bytes | None) -> Any:
    """The parsed body, or None when it is not JSON (or too large to look at)."""
    if not body or len(body) > MAX_BODY or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return jsonparse.loads(body)
    except (ValueError, RecursionError):
        return None


def _walk(
    doc: Any, parts: tuple[Part, ...] = (), in_array: bool = False
) -> Iterator[tuple[tuple[Part, ...], Any, bool]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _walk(value, (*parts, key), in_array)
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:1000]):
            yield from _walk(value, (*parts, i), True)
    else:
        yield parts, doc, in_array


def _location_path(value: str) -> str:
    parts = urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _cookies(headers: Headers) -> Iterator[tuple[str, str]]:
    for name, value in headers:
        if name == "set-cookie":
            try:
                jar: SimpleCookie = SimpleCookie(value)
            except CookieError:
                continue
            for morsel in jar.values():
                yield morsel.key, morsel.value


def produced_values(
    status: int,
    headers: Headers,
    doc: Any,
    *,
    path: str,
    auto: bool,
    rules: list[tuple[str, JsonPath | str]],
) -> list[Produced]:
    """Values generated in a captured answer (``doc``: its normalised JSON body, or None).

    ``rules`` are the ``[[correlate]]`` rules matching the exchange: (kind, JSONPath or header name).
    Error answers (4xx, 5xx) generate nothing: their ids are not objects that exist.
    """
    if status >= 400:
        return []
    out: list[Produced] = []
    seen: set[tuple[str, str]] = set()

    own = path_resource(path)

    def add(
        kind: str, text: str | None, where: tuple[Any, ...], force: bool = False, resource: str = ""
    ) -> None:
        if text is not None and (text, resource or own) not in seen:
            seen.add((text, resource or own))
            out.append(Produced(kind, text, where, force or strong(text), resource or own))

    # A value a rule names is swapped wherever it appears, unless it is a number: those stay at id places.
    for kind, locator in rules:
        if isinstance(locator, str):
            text = header(headers, locator)
            add(kind, text, ("header", locator), text is not None and not text.isdigit())
        elif doc is not None:
            for parts, value in locator.find(doc):
                text = scalar_text(value)
                where = ("json", parts, any(isinstance(p, int) for p in parts))
                add(kind, text, where, text is not None and not text.isdigit())
    if not auto:
        return out
    if doc is not None:
        for parts, value, in_array in _walk(doc):
            if parts and isinstance(parts[-1], str) and id_like(parts[-1]):
                where = ("json", parts, in_array)
                add(kind_of(parts[-1]), scalar_text(value), where, resource=context(parts[-1], parts[:-1]))
    location = header(headers, "location")
    if location:
        add("location", _location_path(location), ("header", "location"))
        segments = _location_path(location).partition("?")[0].split("/")
        for i, segment in enumerate(segments):
            if segment and _is_id(segment) and i > 0:
                add("location", unquote(segment), ("location", i), resource=stem(unquote(segments[i - 1])))
    for name, value in _cookies(headers):
        if len(value) >= 8:
            add("cookie", value, ("cookie", name))
    return out


def _at(doc: Any, parts: tuple[Part, ...]) -> Any:
    for part in parts:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return None
        elif not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _siblings(doc: Any, parts: tuple[Part, ...]) -> set[str]:
    """Every value at the same place in any array element (``$.items[*].id``)."""
    found: set[str] = set()

    def visit(node: Any, i: int) -> None:
        if i == len(parts):
            text = scalar_text(node)
            if text is not None:
                found.add(text)
        elif isinstance(parts[i], int):
            if isinstance(node, list):
                for element in node[:1000]:
                    visit(element, i + 1)
        elif isinstance(node, dict) and parts[i] in node:
            visit(node[parts[i]], i + 1)

    visit(doc, 0)
    return found


def learn(produced: list[Produced], reply: Reply, doc: Any) -> list[Learned]:
    """A backend's own values for ``produced``, read from its ``reply`` (``doc``: normalised body)."""
    if reply.error is not None or reply.status >= 400:
        return []
    out: list[Learned] = []
    backend_location = header(reply.headers, "location")
    backend_segments = (
        _location_path(backend_location).partition("?")[0].split("/") if backend_location else None
    )
    cookies: dict[str, str] | None = None
    for p in produced:
        kind, where = p.where[0], p.where
        value: Any = None
        if kind == "json" and doc is not None:
            value = _at(doc, where[1])
            if where[2] and p.value in _siblings(doc, where[1]):
                value = p.value  # the same object exists on this backend: arrays may be ordered otherwise
        elif kind == "header":
            raw = header(reply.headers, where[1])
            value = _location_path(raw) if raw is not None and where[1] == "location" else raw
        elif kind == "location" and backend_segments is not None and where[1] < len(backend_segments):
            value = unquote(backend_segments[where[1]])
        elif kind == "cookie":
            if cookies is None:
                cookies = dict(_cookies(reply.headers))
            value = cookies.get(where[1])
        if scalar_text(value) is not None:
            out.append(Learned(p.kind, p.value, value, p.resource))
    return out


# ------------------------------------------------------------------------------------------ requests


#: ``replace(value, place)``: ``place`` is None where identifiers do not live, else what the identifier
#: there identifies (``""``: unknown). Returns the substitute, or None to keep the value.
Replace = Callable[[str, "str | None"], "str | int | None"]


def request_values(request: Request) -> Iterator[tuple[str, bool]]:
    """Every (value, at an identifier place) a request carries: path, query, headers, JSON body."""
    for segment in request.path.split("/"):
        if segment:
            yield unquote(segment), True
    if request.query:
        for pair in request.query.split("&"):
            name, _, value = pair.partition("=")
            if value:
                yield unquote_plus(value), id_like(unquote_plus(name))
    for name, value in request.headers:
        if name in _PLAIN_HEADERS:
            continue
        if name == "cookie":
            for pair in value.split(";"):
                yield pair.partition("=")[2].strip(), False
        else:
            yield value.partition(" ")[2] if name == "authorization" and " " in value else value, False
    doc = parse_json(request.body)
    if doc is not None:
        for parts, value, _in_array in _walk(doc):
            text = scalar_text(value)
            if text is not None:
                yield text, bool(parts) and isinstance(parts[-1], str) and id_like(parts[-1])


def _swap_json(doc: Any, replace: Replace, parts: tuple[Part, ...]) -> tuple[Any, bool]:
    if isinstance(doc, dict):
        changed = False
        out = {}
        for key, value in doc.items():
            out[key], c = _swap_json(value, replace, (*parts, key))
            changed |= c
        return (out, True) if changed else (doc, False)
    if isinstance(doc, list):
        pairs = [_swap_json(v, replace, (*parts, i)) for i, v in enumerate(doc)]
        if any(c for _, c in pairs):
            return [v for v, _ in pairs], True
        return doc, False
    text = scalar_text(doc)
    if text is None:
        return doc, False
    names = [p for p in parts if isinstance(p, str)]
    name = names[-1] if names else None
    new = replace(text, context(name, tuple(names[:-1])) if name is not None and id_like(name) else None)
    if new is None:
        return doc, False
    if isinstance(doc, int) and isinstance(new, str) and new.isdigit():
        return int(new), True
    return new, True


def rewrite(request: Request, replace: Replace) -> Request:
    """``request`` with every value ``replace`` knows a substitute for swapped (the same object if none)."""
    segments = request.path.split("/")
    changed = False
    for i, segment in enumerate(segments):
        if segment:
            before = segments[i - 1] if i > 0 else ""
            new = replace(unquote(segment), "" if not before or _is_id(before) else stem(unquote(before)))
            if new is not None:
                segments[i] = quote(str(new), safe=_PATH_SAFE)
                changed = True
    path = "/".join(segments) if changed else request.path
    query = request.query
    if query:
        pairs = query.split("&")
        touched = False
        for i, pair in enumerate(pairs):
            name, eq, value = pair.partition("=")
            if value:
                key = unquote_plus(name)
                new = replace(unquote_plus(value), context(key) if id_like(key) else None)
                if new is not None:
                    pairs[i] = f"{name}{eq}{quote_plus(str(new))}"
                    touched = True
        if touched:
            query = "&".join(pairs)
            changed = True
    headers: list[tuple[str, str]] = []
    for name, value in request.headers:
        if name not in _PLAIN_HEADERS:
            if name == "cookie":
                parts = []
                for pair in value.split(";"):
                    key, eq, val = pair.partition("=")
                    new = replace(val.strip(), None) if eq else None
                    parts.append(f"{key}={new}" if new is not None else pair)
                new_value = ";".join(parts)
            elif name == "authorization" and " " in value:
                scheme, _, token = value.partition(" ")
                new = replace(token, None)
                new_value = value if new is None else f"{scheme} {new}"
            else:
                new = replace(value, None)
                new_value = value if new is None else str(new)
            if new_value != value:
                changed = True
                value = new_value
        headers.append((name, value))
    body = request.body
    doc = parse_json(body)
    if doc is not None:
        new_doc, touched = _swap_json(doc, replace, ())
        if touched:
            body = jsonparse.dumps(new_doc)
            changed = True
    if not changed:
        return request
    return Request(request.method, request.url, path, query, tuple(headers), body, request.stream)


def location_parts(value: str) -> list[str]:
    """A Location-like value's path segments (for undoing a correlation in a difference)."""
    return _location_path(value).split("/")


def normalised(rules: Rules, body: bytes | None) -> Any:
    """The body parsed and normalised for finding values (None when not JSON)."""
    doc = parse_json(body)
    return None if doc is None else rules.apply(doc)


def path_name(path: str) -> str | None:
    """The last member name of a difference path such as ``$.items[2].owner_id`` (None if none)."""
    match = re.search(r"(?:\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\])(?:\[\d+\])*$", path)
    if match is None:
        return None
    return match.group(1) or match.group(2)


__all__ += ["location_parts", "normalised", "parse_json", "path_name"]
