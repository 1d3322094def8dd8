"""The lazy walk (compare/normdiff.py) finds exactly what normalising both documents whole then diffing
finds, differences in the same order, whatever the rules (issue 25)."""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.compare.diff import diff
from paritycheck.compare.normalise import Rules
from paritycheck.compare.normdiff import normalised_diff

#: 100 random pairs per property here; ``make fuzz`` sets PARITYCHECK_FUZZ_EXAMPLES for many more.
PROPERTY_EXAMPLES = int(os.environ.get("PARITYCHECK_FUZZ_EXAMPLES", "100"))

_TS = "2024-05-01T12:00:00Z"
_KEYS = st.sampled_from(
    ["id", "userId", "user_id", "UserID", "data", "success", "error", "errors", "message", "status",
     "items", "createdAt", "created_at", "tags", "price", "x-trace", "2024-05-01", "name", "ok"]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, -1, 2**60, 1.0, 0.0, -0.0, 1.5, 2.0, 1e16, 0.1 + 0.2, 0.3]),
    st.sampled_from(["", "a", "A", "2024-05-01T12:00:00.000+00:00", "2024-05-01", "true", "1"]),
    st.sampled_from(["2024-05-01T12:00:00Z", "2024-05-01 14:00:00+02"]),
)
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=18,
)
_PATHS = ["$.items", "$.items[*].price", "$.tags", "$.data.items", "$.user_id", "$.items[0]", "$..id"]
_RULES = st.builds(
    Rules,
    key_case=st.sampled_from(["snake", "camel", "none"]),
    envelope=st.sampled_from(["auto", "none"]),
    timestamps=st.booleans(),
    null_equals_missing=st.booleans(),
    float_tolerance=st.sampled_from([0.0, 0.01]),
    ignore=st.lists(st.sampled_from(_PATHS), max_size=2, unique=True).map(tuple),
    unordered=st.lists(st.sampled_from(_PATHS), max_size=2, unique=True).map(tuple),
)


def _mutate(doc: Any, draw: st.DrawFn) -> Any:
    """``doc`` with one change somewhere: most of the two documents stay identical, as two answers do."""
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc)))
        action = draw(st.sampled_from(["recurse", "drop", "rename", "null", "replace"]))
        out = dict(doc)
        if action == "recurse":
            out[key] = _mutate(doc[key], draw)
        elif action == "drop":
            del out[key]
        elif action == "rename":
            out[draw(_KEYS)] = out.pop(key)
        elif action == "null":
            out[draw(_KEYS)] = None
        else:
            out[key] = draw(_DOCS)
        return out
    if isinstance(doc, list) and doc and draw(st.booleans()):
        i = draw(st.integers(0, len(doc) - 1))
        action = draw(st.sampled_from(["recurse", "reverse", "drop", "append"]))
        out_list = list(doc)
        if action == "recurse":
            out_list[i] = _mutate(doc[i], draw)
        elif action == "reverse":
            out_list.reverse()
        elif action == "drop":
            del out_list[i]
        else:
            out_list.append(draw(_DOCS))
        return out_list
    # Values that Python, or normalising, calls equal while their JSON differs (or the other way round).
    twins = [(True, 1), (1, True), (1.0, 1), (1, 1.0), (0, False), (False, 0), (_TS, "2024-05-01 14:00+02")]
    if not isinstance(doc, dict | list) and draw(st.booleans()):
        for k, v in twins:
            if type(k) is type(doc) and k == doc:
                return v
    return draw(st.one_of(_DOCS, st.just({"success": True, "data": doc}), st.just({"data": doc, "ok": True})))


#: Objects at the root with a member no envelope has: the lazy walk's own case.
_ANSWERS = st.tuples(st.dictionaries(_KEYS, _DOCS, max_size=6), _DOCS).map(lambda t: {**t[0], "name": t[1]})


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    a = draw(st.one_of(_DOCS, _ANSWERS, _ANSWERS))
    if draw(st.integers(0, 9)) == 0:
        return a, draw(_DOCS)  # unrelated documents too
    b = copy.deepcopy(a)
    for _ in range(draw(st.integers(0, 3))):
        b = _mutate(b, draw)
    if draw(st.booleans()):
        b = {"success": True, "data": b, "error": None} if draw(st.booleans()) else {"data": b}
    return a, b


@settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
@given(_RULES, _pairs())
def test_lazy_walk_equals_normalising_whole_then_diffing(rules: Rules, pair: tuple[Any, Any]) -> None:
    a, b = pair
    before_a, before_b = copy.deepcopy(a), copy.deepcopy(b)
    expected = diff(rules.apply(a), rules.apply(b), float_tolerance=rules.float_tolerance)
    assert normalised_diff(rules, a, b) == expected
    assert normalised_diff(rules, b, a) == diff(
        rules.apply(b), rules.apply(a), float_tolerance=rules.float_tolerance
    )
    assert (a, b) == (before_a, before_b)  # the inputs are never modified


@settings(max_examples=50, deadline=None)
@given(_RULES, _DOCS)
def test_a_document_never_differs_from_itself_or_a_copy(rules: Rules, doc: Any) -> None:
    assert normalised_diff(rules, doc, doc) == []
    assert normalised_diff(rules, doc, copy.deepcopy(doc)) == []


def test_identical_members_that_python_calls_equal_but_json_does_not_still_differ() -> None:
    rules = Rules()
    assert normalised_diff(rules, {"a": [True], "b": 1}, {"a": [1], "b": 1}) == diff(
        rules.apply({"a": [True], "b": 1}), rules.apply({"a": [1], "b": 1})
    )
    assert [d.kind for d in normalised_diff(rules, {"a": [True]}, {"a": [1]})] == ["type"]
