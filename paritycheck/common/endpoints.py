"""Endpoint names: group requests like ``GET /api/v1/users/42`` under ``GET /api/v1/users/{id}``.

An endpoint is ``"METHOD /path-template"``. Configured patterns (``GET /api/v1/kpis/{id}/tags``,
``* /api/v1/auth/*``) win over the automatic template, which replaces identifier-like path segments.

Pattern syntax, shared by every module that matches endpoints (gate, known differences, per-endpoint
rules): ``METHOD /path``, where METHOD is an HTTP method or ``*`` (a bare ``/path`` means any method);
in the path ``{name}`` matches exactly one segment, ``*`` any text within one segment, and ``**`` any
number of segments (a whole ``/**`` segment also matches none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote

from paritycheck.common import secrets
from paritycheck.errors import ConfigError

__all__ = [
    "METHODS",
    "EndpointMatcher",
    "canonical_names",
    "endpoint_shape",
    "parse_pattern",
    "pattern_matches",
    "split_target",
    "template",
]

#: Words accepted as the METHOD of a pattern (besides ``*``): HTTP, PATCH, QUERY and WebDAV methods.
METHODS = frozenset(
    {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "CONNECT",
        "OPTIONS",
        "TRACE",
        "PATCH",
        "QUERY",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "SEARCH",
        "REPORT",
    }
)

_NUMBER = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG_HEX = re.compile(r"(?=[a-fA-F]*[0-9])[0-9a-fA-F]{12,}")
# Base64url-ish (with padding) and at least one letter and one digit, so long words stay words.
_TOKEN = re.compile(r"(?=[^0-9]*[0-9])(?=[^A-Za-z]*[A-Za-z])[A-Za-z0-9_\-]{20,}={0,2}")

ID = "{id}"
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
#: The automatic parameter names: an identifier's (``{id}``) and a learned slug's (``{param}``).
GENERIC = (ID, "{param}")
_PLACEHOLDER = re.compile(r"\{[^/{}]*\}")


def _is_id(segment: str) -> bool:
    if len(segment) < 12:  # too short for a UUID, long hex or token: only a number can be an id
        return segment.isascii() and segment.isdigit()
    return bool(
        _NUMBER.fullmatch(segment)
        or _UUID.fullmatch(segment)
        or _LONG_HEX.fullmatch(segment)
        or _TOKEN.fullmatch(segment)
        # A JWT (dots) or any other secret in the path must never become part of an endpoint's name,
        # which reports, the gate, JUnit and /metrics labels all show.
        or secrets.has_token(segment)
        or ("%" in segment and secrets.has_token(unquote(segment)))
    )


def template(path: str) -> str:
    """Replace identifier-like segments (numbers, UUIDs, long hex, opaque tokens, secrets) with ``{id}``.

    Any query string or fragment is dropped; every other segment, including an empty one from a
    trailing slash, is kept, so the number of segments never changes.
    """
    path = path.partition("?")[0].partition("#")[0]
    return "/".join(ID if _is_id(seg) else seg for seg in path.split("/"))


def split_target(url: str) -> tuple[str, str]:
    """``(path, query)`` of a URL or a request target; never raises, whatever a store or capture holds
    (``urlsplit`` refuses ``http://[redacted]@host/``, which older stores kept)."""
    rest = secrets.split_authority(url)[1].partition("#")[0]
    path, _, query = rest.partition("?")
    return path or "/", query


def endpoint_shape(name: str) -> str:
    """An endpoint name with every parameter unnamed: ``GET /kpis/{kpi_id}`` and ``GET /kpis/{id}`` are
    ``GET /kpis/{}``, one endpoint under two spellings."""
    return _PLACEHOLDER.sub("{}", name)


def _generic_count(name: str) -> tuple[int, int]:
    return name.count("{param}"), name.count(ID)


def canonical_names(names: Iterable[str], *, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{name: the name of its shape}`` for every template in ``names`` whose shape has another spelling.

    A shape is named by ``known`` (shape -> name, what the store remembers) when it has it, else by its
    most specific spelling: a spec's named parameters (``{kpi_id}``) over ``{id}`` over ``{param}``.
    """
    by_shape: dict[str, set[str]] = {}
    for name in names:
        if "{" in name:
            by_shape.setdefault(endpoint_shape(name), set()).add(name)
    out: dict[str, str] = {}
    for shape, spellings in by_shape.items():
        chosen = (known or {}).get(shape) or min(spellings, key=lambda n: (_generic_count(n), n))
        out.update({name: chosen for name in spellings if name != chosen})
    return out


def normalise_path(path: str) -> str:
    """The path an endpoint is named after: no query, no fragment, no trailing slash, never empty.

    An absolute-form target (``http://user@host/x``, sent to a proxy) is named by its path: its scheme,
    user information and host are not part of any endpoint.
    """
    path = path.partition("?")[0].partition("#")[0]
    if "//" in path and not path.startswith("/"):
        path = _ABSOLUTE.sub("", path, count=1)
    path = path.rstrip("/")
    return path if path.startswith("/") else "/" + path


def parse_pattern(pattern: str, *, what: str = "endpoint pattern") -> tuple[str, str]:
    """Split ``"METHOD /path"`` (or a bare ``"/path"``) into ``(METHOD or "*", path)``; else ConfigError."""
    text = pattern.strip()
    method, _, path = text.partition(" ")
    if text.startswith("/"):
        method, path = "*", text
    method, path = method.upper(), path.strip()
    if not path.startswith("/") or (method != "*" and method not in METHODS):
        raise ConfigError(
            f"{what} {pattern!r} is not 'METHOD /path'",
            hint="write e.g. 'GET /api/v1/users/{id}', '* /api/v1/auth/**' or '/health'; "
            f"METHOD is * or one of {', '.join(sorted(METHODS))}",
        )
    return method, path


def _segment_regex(segment: str) -> str:
    out = []
    pos = 0
    for m in re.finditer(r"\*\*|\*|\{[^/{}]*\}", segment):
        out.append(re.escape(segment[pos : m.start()]))
        token = m.group()
        out.append(".*" if token == "**" else "[^/]*" if token == "*" else "[^/]+")
        pos = m.end()
    out.append(re.escape(segment[pos:]))
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> tuple[str, str, re.Pattern[str]]:
    """Return ``(METHOD, normalised pattern path, regex for a normalised request path)``."""
    method, path = parse_pattern(pattern)
    path = normalise_path(path)
    parts = []
    for segment in path.split("/")[1:]:
        parts.append("(?:/[^/]*)*" if segment == "**" else "/" + _segment_regex(segment))
    return method, path, re.compile("".join(parts))


def pattern_matches(pattern: str, endpoint: str) -> bool:
    """Whether ``"METHOD /pattern"`` matches an endpoint such as ``"GET /api/v1/goals/{id}"``."""
    method, _, regex = compile_pattern(pattern)
    ep_method, _, ep_path = endpoint.strip().partition(" ")
    if method != "*" and method != ep_method.upper():
        return False
    return regex.fullmatch(normalise_path(ep_path)) is not None


class EndpointMatcher:
    """Names the endpoint of each request: the first configured pattern that matches, else the spec's
    operation (``resolve``), else a template."""

    def __init__(
        self,
        patterns: Iterable[str] = (),
        *,
        resolve: Callable[[str, str], str | None] | None = None,
        cache_size: int = 65536,
    ) -> None:
        # Compiled up front so that a bad pattern fails when the run starts, not mid-way.
        self._patterns = [compile_pattern(p) for p in patterns]
        self._resolve = resolve
        self._cached = functools.lru_cache(maxsize=cache_size)(self._endpoint)
        #: Names given by a configured pattern (or the spec's): learned templates never change them.
        self.fixed: set[str] = set()

    def endpoint(self, method: str, path: str) -> str:
        """``"METHOD /template"`` for a request; results are cached (this runs once per exchange)."""
        return self._cached(method, path)

    def _endpoint(self, method: str, path: str) -> str:
        method = method.upper()
        path = normalise_path(path)
        for p_method, p_path, regex in self._patterns:
            if (p_method == "*" or p_method == method) and regex.fullmatch(path):
                name = f"{method} {p_path}"
                self.fixed.add(name)
                return name
        if self._resolve is not None and (resolved := self._resolve(method, path)) is not None:
            self.fixed.add(resolved)
            return resolved
        return f"{method} {template(path)}"
