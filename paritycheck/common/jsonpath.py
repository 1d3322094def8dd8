"""A small JSONPath subset for ignore and unordered rules, and for naming places in a body.

Supported: ``$`` (the root), ``.name``, ``['quoted name']`` (or double quotes, with ``\\`` escapes),
``[n]`` (a non-negative index), ``[*]`` and ``.*`` (every member or element), and ``..`` (recursive
descent, followed by a name, ``*`` or a bracket: ``$..trace_id``). Filters, slices, unions and negative
indexes are rejected with a reason. A path is matched against a concrete location, a tuple of object
keys (``str``) and array indexes (``int``); :class:`PathSet` runs many paths at once as one small
automaton, advanced key by key while a document is walked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Part = str | int
#: One step: (recursive descent?, selector); the selector is a key, an index, or None for ``*``.
Step = tuple[bool, str | int | None]
#: Automaton states: sorted (path number, step number) pairs.
States = tuple[tuple[int, int], ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[^\s.\[\]'\"*()?,=]+")
_SIGNED_INT = re.compile(r"-?[0-9]+")
_INDEX = re.compile(r"\[\s*([0-9]+)\s*\]")


def _selects(selector: str | int | None, part: Part) -> bool:
    if selector is None:
        return True
    # An index never selects an object key "0" and a name never selects an array element.
    return type(selector) is type(part) and selector == part


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path: ``expr`` as written, ``steps`` as matched."""

    expr: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.expr

    def matches(self, parts: Sequence[Part]) -> bool:
        """True when the location ``parts`` is exactly one this path selects."""
        return self._match(0, tuple(parts), 0, prefix=False)

    def covers(self, parts: Sequence[Part]) -> bool:
        """True when ``parts`` is selected or lies inside a selected value."""
        return self._match(0, tuple(parts), 0, prefix=True)

    def _match(self, si: int, parts: tuple[Part, ...], pi: int, *, prefix: bool) -> bool:
        if si == len(self.steps):
            return prefix or pi == len(parts)
        descend, selector = self.steps[si]
        last = len(parts) if descend else min(pi + 1, len(parts))
        for j in range(pi, last):
            if _selects(selector, parts[j]) and self._match(si + 1, parts, j + 1, prefix=prefix):
                return True
        return False

    def find(self, doc: Any) -> list[tuple[tuple[Part, ...], Any]]:
        """Every selected (location, value) in ``doc``, in document order."""
        machine = PathSet((self,))
        return [(loc, value) for loc, value, hit in _visit(machine, doc, machine.start, ()) if hit]

    def remove(self, doc: Any) -> Any:
        """A copy of ``doc`` without the selected values (the root itself cannot be removed)."""
        machine = PathSet((self,))
        return _remove(machine, doc, machine.start)


def _visit(
    machine: PathSet, doc: Any, states: States, loc: tuple[Part, ...]
) -> Iterator[tuple[tuple[Part, ...], Any, bool]]:
    yield loc, doc, bool(machine.accepted(states))
    if not states:
        return
    children: Iterator[tuple[Part, Any]]
    if isinstance(doc, dict):
        children = iter(doc.items())
    elif isinstance(doc, list):
        children = enumerate(doc)
    else:
        return
    for part, child in children:
        yield from _visit(machine, child, machine.advance(states, part), (*loc, part))


def _remove(machine: PathSet, doc: Any, states: States) -> Any:
    if not states:
        return doc
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, child in doc.items():
            sub = machine.advance(states, key)
            if not machine.accepted(sub):
                out[key] = _remove(machine, child, sub)
        return out
    if isinstance(doc, list):
        kept = []
        for i, child in enumerate(doc):
            sub = machine.advance(states, i)
            if not machine.accepted(sub):
                kept.append(_remove(machine, child, sub))
        return kept
    return doc


@dataclass(frozen=True, slots=True)
class PathSet:
    """Several paths run together: advance the states key by key, ask which paths accept."""

    paths: tuple[JsonPath, ...]
    _cache: dict[tuple[States, Part], States] = field(default_factory=dict, compare=False, repr=False)

    @property
    def start(self) -> States:
        return tuple((p, 0) for p in range(len(self.paths)))

    def advance(self, states: States, part: Part) -> States:
        """The states after stepping into child ``part``; empty when no path can match below."""
        key = (states, part)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        out: set[tuple[int, int]] = set()
        for p, s in states:
            steps = self.paths[p].steps
            if s == len(steps):
                continue
            descend, selector = steps[s]
            if descend:
                out.add((p, s))  # recursive descent may skip this level
            if _selects(selector, part):
                out.add((p, s + 1))
        result = tuple(sorted(out))
        if len(self._cache) > 50_000:  # array indexes make keys unbounded; start again
            self._cache.clear()
        self._cache[key] = result
        return result

    def accepted(self, states: States) -> tuple[int, ...]:
        """Numbers of the paths that select the location these states stand for."""
        return tuple(p for p, s in states if s == len(self.paths[p].steps))


def parse(expr: str) -> JsonPath:
    """Parse ``expr``; raise ValueError with a short reason when it is outside the subset."""
    if not isinstance(expr, str):
        raise ValueError("a JSONPath must be a string")
    text = expr.strip()
    if not text.startswith("$"):
        raise ValueError("must start with '$'")
    steps: list[Step] = []
    i, n = 1, len(text)
    while i < n:
        descend = text.startswith("..", i)
        if descend:
            i += 2
            if i >= n:
                raise ValueError("'..' must be followed by a name, '*' or '[...]'")
            if text[i] == ".":
                raise ValueError(f"unexpected '.' at position {i}")
        elif text[i] == ".":
            i += 1
            if i >= n:
                raise ValueError("ends with '.'")
        elif text[i] != "[":
            raise ValueError(f"unexpected {text[i]!r} at position {i} (expected '.' or '[')")
        if text[i] == "[":
            selector, i = _bracket(text, i)
        elif text[i] == "*":
            selector, i = None, i + 1
        else:
            m = _NAME.match(text, i)
            if m is None:
                raise ValueError(f"expected a name at position {i}, found {text[i]!r}")
            selector, i = m.group(), m.end()
        steps.append((descend, selector))
    return JsonPath(expr=expr, steps=tuple(steps))


def _bracket(text: str, i: int) -> tuple[str | int | None, int]:
    """Parse ``[...]`` starting at ``text[i] == '['``; return the selector and the index after ``]``."""
    j = i + 1
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text):
        raise ValueError(f"unclosed '[' at position {i}")
    c = text[j]
    selector: str | int | None
    if c in "'\"":
        chars: list[str] = []
        j += 1
        while j < len(text) and text[j] != c:
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
            chars.append(text[j])
            j += 1
        if j >= len(text):
            raise ValueError(f"unclosed quote at position {i + 1}")
        selector, j = "".join(chars), j + 1
    elif c == "*":
        selector, j = None, j + 1
    else:
        m = _SIGNED_INT.match(text, j)
        if m is None:
            if c in "?(":
                raise ValueError("filter expressions are not supported")
            raise ValueError(f"expected an index, '*' or a quoted name at position {j}")
        if m.group().startswith("-"):
            raise ValueError("negative indexes are not supported")
        selector, j = int(m.group()), m.end()
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text):
        raise ValueError(f"unclosed '[' at position {i}")
    if text[j] in ":,":
        raise ValueError("slices and unions are not supported")
    if text[j] != "]":
        raise ValueError(f"expected ']' at position {j}")
    return selector, j + 1


def format_path(parts: Sequence[Part]) -> str:
    """Write a location as a path: ``('data', 'items', 2, 'price')`` -> ``$.data.items[2].price``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


def wildcard(path: str) -> str:
    """Replace every array index with ``[*]``: ``$.items[2].id`` -> ``$.items[*].id``.

    Anything that is not a body path (``status``, ``header:location``) is returned unchanged.
    """
    if not path.startswith("$") or "[" not in path:
        return path
    try:
        steps = parse(path).steps
    except ValueError:
        return path
    if any(descend for descend, _ in steps):
        return _INDEX.sub("[*]", path)  # not written by format_path; indexes are still plain
    out = ["$"]
    for _descend, selector in steps:
        if isinstance(selector, int) or selector is None:
            out.append("[*]")
        else:
            out.append(format_path((selector,))[1:])
    return "".join(out)
