"""Walk two normalised JSON documents and list where they differ, in a stable order.

Equality is JSON equality: ``1`` equals ``1.0``, ``true`` never equals ``1`` (which Python's ``==``
would allow). Subtrees equal under ``==`` are confirmed with their canonical serialisation and skipped,
so the walk only descends where something differs. Object keys are visited in sorted order.

Arrays that differ are aligned before any element is blamed: the same elements in another order are one
``order``; objects told apart by an identity key (``id``, ``slug``, ... or a learned one) that come back
in another order are one ``order`` and then compared by identity; arrays of unequal length are aligned
with difflib; others compare index by index. tests/test_diff_oracle.py states these rules precisely and
checks the walker against deepdiff on generated pairs.
Values in a :class:`~paritycheck.models.Difference` are the full values, so that correlation and noise
learning compare what the backends sent (a 269-character token is not cut); :func:`bounded` cuts long
strings and subtrees over :data:`LIMIT` characters only when a value is stored or shown.
"""

from __future__ import annotations

import difflib
import itertools
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
    if _walk_by_identity(a, b, parts, out, tolerance):
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
IDENTITY_KEYS = ("id", "uuid", "key", "slug", "name", "code")


_RANK = {key: i for i, key in enumerate(IDENTITY_KEYS)}
_MISSING = object()


def _identities(items: list[Any], key: str) -> dict[str | int, int] | None:
    """``{identity: index}`` when every element is an object whose ``key`` is a string or an integer,
    unique in ``items``; else None."""
    index: dict[str | int, int] = {}
    for i, x in enumerate(items):
        if type(x) is not dict:
            return None
        value = x.get(key, _MISSING)
        kind = type(value)
        if kind is not str and kind is not int:
            return None
        index[value] = i
    return index if len(index) == len(items) else None


def _walk_by_identity(
    a: list[Any], b: list[Any], parts: tuple[Part, ...], out: list[Difference], tolerance: float
) -> bool:
    """Objects that come back in another order, told by an identity key: one ``order``, not changed values.

    The key is the first of :data:`IDENTITY_KEYS` (else, learned, any other key) that every element of
    both arrays has, with unique string or integer values, where one side's identities include the
    other's. When the shared ones come in another order, the elements are compared by identity (paths
    name the legacy index; an added element, the candidate's) after one ``order`` difference. A learned
    key is used only where it explains the arrays with fewer differences than their positions do.
    False (nothing written) when no key applies or the identified elements keep their order.
    """
    first = a[0] if a and b else None
    if type(first) is not dict:
        return False
    keys = [k for k, v in first.items() if type(v) is str or type(v) is int]
    if len(keys) > 1:
        keys.sort(key=lambda k: (_RANK.get(k, len(_RANK)), k))
    for key in keys:
        ids_a = _identities(a, key)
        ids_b = _identities(b, key) if ids_a is not None else None
        if (
            ids_a is None
            or ids_b is None
            or not (ids_a.keys() <= ids_b.keys() or ids_b.keys() <= ids_a.keys())
        ):
            continue
        order = [ids_b[v] for v in ids_a if v in ids_b]
        if all(j < k for j, k in itertools.pairwise(order)):
            return False  # the elements keep their order: positions (or difflib) align them
        if key in _RANK:
            _walk_identified(a, b, key, ids_a, ids_b, parts, out, tolerance)
            return True
        by_key: list[Difference] = []
        _walk_identified(a, b, key, ids_a, ids_b, parts, by_key, tolerance)
        by_position: list[Difference] = []
        if len(a) != len(b):
            _walk_aligned(a, b, parts, by_position, tolerance)
        else:
            _walk_pairs(a, b, 0, 0, len(a), parts, by_position, tolerance)
        out += by_key if len(by_key) < len(by_position) else by_position
        return True
    return False


def _walk_identified(
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    key: str,
    ids_a: dict[str | int, int],
    ids_b: dict[str | int, int],
    parts: tuple[Part, ...],
    out: list[Difference],
    tolerance: float,
) -> None:
    """One ``order`` (the identities in each side's order), then each element against its namesake."""
    out.append(Difference("order", format_path(parts), list(ids_a), list(ids_b)))
    for i, x in enumerate(a):
        j = ids_b.get(x[key])
        if j is None:
            out.append(Difference("removed", format_path((*parts, i)), x, None))
        else:
            _walk(x, b[j], (*parts, i), out, tolerance)
    for j, y in enumerate(b):
        if y[key] not in ids_a:
            out.append(Difference("added", format_path((*parts, j)), None, y))


def _signatures(a: list[Any], b: list[Any]) -> tuple[list[Any], list[Any]]:
    """What aligns two arrays: the elements' identity key when they are objects sharing one (so an
    element whose other fields changed still lines up), else their canonical JSON."""
    if a and b and all(type(x) is dict for x in a) and all(type(x) is dict for x in b):
        for key in IDENTITY_KEYS:
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


def walk(a: Any, b: Any, parts: tuple[Part, ...], out: list[Difference], tolerance: float) -> None:
    """Append to ``out`` the differences between two normalised values found at ``parts``: the walk
    :func:`diff` starts at the root, for a caller that reached ``parts`` itself (compare/normdiff.py)."""
    _walk(a, b, parts, out, tolerance)
