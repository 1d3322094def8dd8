"""Diff two parsed answers as if normalised, normalising only where they differ.

``diff(rules.apply(a), rules.apply(b))`` normalises both documents whole, although two answers to one
request are mostly the same: a differing pair of ~1 KB bodies spent about two thirds of its comparison
normalising (issue 25, docs/benchmarks.md). :func:`normalised_diff` walks both raw documents at once,
object by object, in the normalised key space (each key converted, null and ignored members dropped, as
normalising does), and skips a member whose raw values are identical, as JSON values, types included:
normalising a value depends only on the value and on where it is, so identical raw values at one place
normalise alike. Where the raw values differ and are not both objects, both are normalised (by the
rules of their place) and handed to :mod:`paritycheck.compare.diff`'s walk, so arrays, numbers, strings
and types are judged exactly as before. The differences, and their order, are those of the full diff
(``tests/test_normdiff.py`` checks it on generated documents and rules).

The walk normalises whole instead wherever a shortcut could change the answer: an object where two keys
normalise to one name (which value wins depends on the whole object), and a root that is, or might
become once normalised, an envelope (``envelope = "auto"``).
"""

from __future__ import annotations

from typing import Any

from paritycheck.common.jsonparse import dumps_canonical
from paritycheck.common.jsonpath import Part, States, format_path
from paritycheck.compare.diff import walk
from paritycheck.compare.normalise import ENVELOPE_KEYS, Rules, unwrap
from paritycheck.models import Difference

__all__ = ["normalised_diff"]

#: An object's members as normalising keeps them: normalised key -> (raw value, the rules' states there).
Members = dict[str, tuple[Any, States]]


def normalised_diff(rules: Rules, legacy: Any, candidate: Any) -> list[Difference]:
    """``diff(rules.apply(legacy), rules.apply(candidate))`` for two parsed documents, computed lazily."""
    out: list[Difference] = []
    a, b = (unwrap(legacy), unwrap(candidate)) if rules.envelope == "auto" else (legacy, candidate)
    if type(a) is dict and type(b) is dict:
        members_a, members_b = _members(rules, a, rules._root), _members(rules, b, rules._root)
        if (
            members_a is not None
            and members_b is not None
            and (rules.envelope != "auto" or not (_may_be_envelope(members_a) or _may_be_envelope(members_b)))
        ):
            _objects(rules, members_a, members_b, (), out)
            return out
    walk(rules.apply(legacy), rules.apply(candidate), (), out, rules.float_tolerance)
    return out


def _identical(a: Any, b: Any) -> bool:
    """The same JSON value: ``==`` says ``[true] == [1]`` and ``1 == 1.0``, the canonical bytes do not."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:
        return bool(a == b) and dumps_canonical(a) == dumps_canonical(b)
    return bool(a == b)


def _members(rules: Rules, obj: dict[str, Any], states: States) -> Members | None:
    """The members ``Rules._object`` keeps, by normalised key; None when two keys normalise alike."""
    out: Members = {}
    convert = rules._convert
    drop_null = rules.null_equals_missing
    for key, value in obj.items():
        if value is None and drop_null:
            continue
        new = convert(key)
        sub: States = ()
        if states:
            sub = rules._machine.advance(states, new)
            if sub and rules._flags_of(sub)[0]:
                continue
        if new in out:
            return None
        out[new] = (value, sub)
    return out


def _may_be_envelope(members: Members) -> bool:
    """Whether ``unwrap`` could take an object with these keys for an envelope (else it never does)."""
    return 0 < len(members) <= len(ENVELOPE_KEYS) and all(
        key.replace("_", "").replace("-", "").lower() in ENVELOPE_KEYS for key in members
    )


def _objects(rules: Rules, a: Members, b: Members, parts: tuple[Part, ...], out: list[Difference]) -> None:
    """``diff``'s walk of two objects, given their members; identical raw members are skipped."""
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            value, sub = a[key]
            out.append(Difference("removed", format_path((*parts, key)), rules._value(value, sub), None))
        elif key not in a:
            value, sub = b[key]
            out.append(Difference("added", format_path((*parts, key)), None, rules._value(value, sub)))
        else:
            value_a, sub = a[key]
            value_b = b[key][0]
            if _identical(value_a, value_b):
                continue
            if type(value_a) is dict and type(value_b) is dict:
                members_a, members_b = _members(rules, value_a, sub), _members(rules, value_b, sub)
                if members_a is not None and members_b is not None:
                    _objects(rules, members_a, members_b, (*parts, key), out)
                    continue
            normalised_a, normalised_b = rules._value(value_a, sub), rules._value(value_b, sub)
            walk(normalised_a, normalised_b, (*parts, key), out, rules.float_tolerance)
