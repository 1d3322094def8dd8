"""Walk two normalised JSON documents and list where they differ, in a stable order.

Equality is JSON equality: ``1`` equals ``1.0``, ``true`` never equals ``1`` (which Python's ``==``
would allow). Subtrees equal under ``==`` are confirmed with their canonical serialisation and skipped,
so the walk only descends where something differs. Object keys are visited in sorted order.
Values in a :class:`~paritycheck.models.Difference` are the full values, so that correlation and noise
learning compare what the backends sent (a 269-character token is not cut); :func:`bounded` cuts long
strings and subtrees over :data:`LIMIT` characters only when a value is stored or shown.
"""

from __future__ import annotations

import difflib
from typing import Any

from paritycheck.common.jsonparse import dumps_canonical
from paritycheck.common.jsonpath import Part, format_path
from paritycheck.models import Difference

LIMIT = 200
#: How a body with no bytes at all (a 204, a HEAD) is shown against a JSON one: not ``""``, which is a
#: JSON document of its own.
EMPTY_BODY = "(empty body)"
_CONTAINERS = (dict, list)
_BIG = 10**LIMIT


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value: null, boolean, number, string, array or object."""
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is list:
        return "array"
    if kind is dict:
        return "object"
    if value is None:
        return "null"
    return kind.__name__


def bounded(value: Any) -> Any:
    """``value`` itself when small, else a cut-down string ending in a marker with the full size."""
    kind = type(value)
    if kind is str:
        if len(value) > LIMIT:
            return f"{value[:LIMIT]}… [{len(value)} chars]"
        return value
    if kind is int and not -_BIG < value < _BIG:
        text = str(value)
        return f"{text[:LIMIT]}… [{len(text)} digits]"
    if kind in _CONTAINERS and value:
        raw = dumps_canonical(value)
        if len(raw) > LIMIT:
            return f"{raw[:LIMIT].decode('utf-8', 'ignore')}… [{len(raw)} bytes]"
    return value


def _same(a: Any, b: Any) -> bool:
    """JSON-equal containers: ``==`` is fast but says ``[true] == [1]``; the canonical bytes do not."""
    return bool(a == b) and dumps_canonical(a) == dumps_canonical(b)


def _close(a: int | float, b: int | float, tolerance: float) -> bool:
    try:
        return abs(a - b) <= tolerance * max(abs(a), abs(b))
    except OverflowError:  # an int beyond the float range: only exact equality counts
        return False


def diff(legacy: Any, candidate: Any, *, float_tolerance: float = 0.0) -> list[Difference]:
    """Every difference between two normalised documents; empty when they are JSON-equal.

    ``float_tolerance`` is relative: numbers within ``tolerance * max(|a|, |b|)`` are equal.
    """
    out: list[Difference] = []
    _walk(legacy, candidate, (), out, float_tolerance)
    return out


def _walk(a: Any, b: Any, parts: tuple[Part, ...], out: list[Difference], tolerance: float) -> None:
    kind_a, kind_b = json_type(a), json_type(b)
    if kind_a != kind_b:
        out.append(Difference("type", format_path(parts), a, b))
    elif kind_a == "object":
        if not _same(a, b):
            _walk_object(a, b, parts, out, tolerance)
    elif kind_a == "array":
        if not _same(a, b):
            _walk_array(a, b, parts, out, tolerance)
    elif kind_a == "number":
        if a != b and not (tolerance and _close(a, b, tolerance)):
            out.append(Difference("changed", format_path(parts), a, b))
    elif a != b:
        out.append(Difference("changed", format_path(parts), a, b))


def _walk_object(
    a: dict[str, Any], b: dict[str, Any], parts: tuple[Part, ...], out: list[Difference], tolerance: float
) -> None:
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            out.append(Difference("removed", format_path((*parts, key)), a[key], None))
        elif key not in a:
            out.append(Difference("added", format_path((*parts, key)), None, b[key]))
        else:
            va, vb = a[key], b[key]
            kind = type(va)
            # Same Python scalar type and ==: equal without building a path (the common case).
            if kind is type(vb) and kind not in _CONTAINERS and va == vb:
                continue
            _walk(va, vb, (*parts, key), out, tolerance)


def _walk_array(
    a: list[Any], b: list[Any], parts: tuple[Part, ...], out: list[Difference], tolerance: float
) -> None:
    if len(a) == len(b) and len(a) > 1 and sorted(map(dumps_canonical, a)) == sorted(map(dumps_canonical, b)):
        out.append(Difference("order", format_path(parts), a, b))
        return
    if len(a) != len(b):
        _walk_aligned(a, b, parts, out, tolerance)
        return
    _walk_pairs(a, b, 0, 0, len(a), parts, out, tolerance)


def _walk_pairs(
    a: list[Any],
    b: list[Any],
    i: int,
    j: int,
    n: int,
    parts: tuple[Part, ...],
    out: list[Difference],
    tolerance: float,
) -> None:
    """Compare ``a[i:i+n]`` with ``b[j:j+n]`` element by element (paths name the legacy index)."""
    for k in range(n):
        va, vb = a[i + k], b[j + k]
        kind = type(va)
        if kind is type(vb) and kind not in _CONTAINERS and va == vb:
            continue
        _walk(va, vb, (*parts, i + k), out, tolerance)


#: Keys that identify an array element, in order of preference, when the elements are objects.
_IDENTITY = ("id", "uuid", "key", "slug", "name", "code")


def _signatures(a: list[Any], b: list[Any]) -> tuple[list[Any], list[Any]]:
    """What aligns two arrays: the elements' identity key when they are objects sharing one (so an
    element whose other fields changed still lines up), else their canonical JSON."""
    if a and b and all(type(x) is dict for x in a) and all(type(x) is dict for x in b):
        for key in _IDENTITY:
            if all(key in x for x in a) and all(key in x for x in b):
                return [dumps_canonical(x[key]) for x in a], [dumps_canonical(x[key]) for x in b]
    return [dumps_canonical(x) for x in a], [dumps_canonical(x) for x in b]


def _walk_aligned(
    a: list[Any], b: list[Any], parts: tuple[Part, ...], out: list[Difference], tolerance: float
) -> None:
    """Arrays of unequal length: align them first (difflib), so that one element dropped from the head
    of a list is one ``removed``, not a ``changed`` for every element after it."""
    sig_a, sig_b = _signatures(a, b)
    matcher = difflib.SequenceMatcher(None, sig_a, sig_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _walk_pairs(a, b, i1, j1, i2 - i1, parts, out, tolerance)
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        _walk_pairs(a, b, i1, j1, paired, parts, out, tolerance)
        for i in range(i1 + paired, i2):
            out.append(Difference("removed", format_path((*parts, i)), a[i], None))
        for j in range(j1 + paired, j2):
            out.append(Difference("added", format_path((*parts, j)), None, b[j]))
