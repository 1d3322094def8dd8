"""Matching a request (method, path) to a documented operation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

_PARAM = re.compile(r"\{[^{}/]+\}")


def base_paths(servers: Any) -> list[str]:
    """Path prefixes of the ``servers`` URLs, variables replaced by their defaults (``/api/v1``)."""
    out: list[str] = []
    for server in servers if isinstance(servers, list) else ():
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        url: str = server["url"]
        for name, var in (server.get("variables") or {}).items():
            if isinstance(var, dict) and var.get("default") is not None:
                url = url.replace("{" + name + "}", str(var["default"]))
        path = urlsplit(url).path if "://" in url or url.startswith("//") else url.split("?")[0]
        path = "/" + path.strip("/") if path.strip("/") else ""
        if "{" not in path and path not in out:
            out.append(path)
    return out


def server_base(*levels: Any) -> str:
    """The base path requests use: the first server of the innermost ``servers`` list that has one.

    ``levels`` are the ``servers`` of the operation, its path item and the document, innermost first
    (OpenAPI: an inner list overrides the outer ones). ``""`` when none says.
    """
    for servers in levels:
        bases = base_paths(servers)
        if bases:
            return bases[0]
    return ""


def _segment_rank(segment: str) -> tuple[int, int]:
    """Literal segments sort before partly templated ones, which sort before ``{param}``."""
    if "{" not in segment:
        return (0, -len(segment))
    literal = len(_PARAM.sub("", segment))
    return (1 if literal else 2, -literal)


class Route:
    """One path template compiled to a regular expression."""

    __slots__ = ("methods", "rank", "regex", "template")

    def __init__(self, template: str, methods: dict[str, Any]) -> None:
        self.template = template
        self.methods = methods
        segments = [s for s in template.strip("/").split("/") if s] or [""]
        pattern = "/".join(
            "".join(
                "[^/]+" if _PARAM.fullmatch(part) else re.escape(part)
                for part in re.split(r"(\{[^{}/]+\})", segment)
                if part
            )
            for segment in segments
        )
        self.regex = re.compile("/" + pattern)
        self.rank = tuple(_segment_rank(s) for s in segments)


class Router:
    """Finds the operation for a request: base path, most specific template, then method."""

    def __init__(self, routes: Iterable[Route], bases: Sequence[str]) -> None:
        self.routes = sorted(routes, key=lambda r: (r.rank, r.template))
        # Longest prefix first; the bare path is the lenient fallback for captures without the prefix.
        self.bases = sorted({b for b in bases if b}, key=len, reverse=True)
        self._cache: dict[tuple[str, str], Any] = {}

    def find(self, method: str, path: str) -> Any:
        """The operation object registered for ``method`` on the template matching ``path``, or None."""
        key = (method, path)
        if key in self._cache:
            return self._cache[key]
        found = self._find(method.upper(), path)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _find(self, method: str, path: str) -> Any:
        for route in self._matching(path):
            op = route.methods.get(method)
            if op is None and method == "HEAD":
                op = route.methods.get("GET")  # HEAD is GET without the body
            if op is not None:
                return op
        return None

    def route(self, path: str) -> Route | None:
        """The most specific template matching ``path`` whatever the method, or None."""
        return next(self._matching(path), None)

    def _matching(self, path: str) -> Iterator[Route]:
        """The routes matching ``path`` (with each base path taken off, then as it is), best first."""
        path = path.split("?", 1)[0]
        if len(path) > 1:
            path = path.rstrip("/") or "/"
        candidates = [path[len(b) :] or "/" for b in self.bases if path == b or path.startswith(b + "/")]
        candidates.append(path or "/")
        for candidate in candidates:
            for route in self.routes:
                if route.regex.fullmatch(candidate):
                    yield route
