"""diff: kinds, paths, bounded values, tolerance, and JSON (not Python) equality."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.compare.diff import LIMIT, bounded, diff, json_type
from paritycheck.models import Difference
from paritycheck.store import stored_value

#: 100 random documents per property here; ``make fuzz`` sets PARITYCHECK_FUZZ_EXAMPLES for many more.
PROPERTY_EXAMPLES = int(os.environ.get("PARITYCHECK_FUZZ_EXAMPLES", "100"))


def kinds(a: Any, b: Any, **kwargs: Any) -> list[tuple[str, str]]:
    return [(d.kind, d.path) for d in diff(a, b, **kwargs)]


def test_equal_documents_have_no_differences() -> None:
    doc = {"a": [1, {"b": None}], "c": "x", "d": 1.5, "e": True}
    assert diff(doc, json.loads(json.dumps(doc))) == []


def test_changed_added_removed() -> None:
    legacy = {"id": 1, "name": "a", "gone": True, "nested": {"x": 1}}
    candidate = {"id": 2, "name": "a", "new": [1], "nested": {"x": 1, "y": 2}}
    assert diff(legacy, candidate) == [
        Difference("removed", "$.gone", True, None),
        Difference("changed", "$.id", 1, 2),
        Difference("added", "$.nested.y", None, 2),
        Difference("added", "$.new", None, [1]),
    ]


@pytest.mark.parametrize(
    ("a", "b", "path"),
    [
        ("1", 1, "$.v"),
        (None, {}, "$.v"),
        (True, 1, "$.v"),
        (False, 0, "$.v"),
        (1.0, True, "$.v"),
        ([], {}, "$.v"),
        ("", None, "$.v"),
        ([1], [True], "$.v[0]"),
    ],
)
def test_different_json_types_are_type_differences(a: Any, b: Any, path: str) -> None:
    assert kinds({"v": a}, {"v": b}) == [("type", path)]


def test_int_and_float_are_one_number_type() -> None:
    assert diff({"v": 1}, {"v": 1.0}) == []
    assert kinds({"v": 1}, {"v": 1.5}) == [("changed", "$.v")]


def test_reordered_array_is_one_order_difference() -> None:
    found = diff({"tags": [1, 2, 3, {"a": 1}]}, {"tags": [{"a": 1}, 3, 2, 1]})
    assert found == [Difference("order", "$.tags", [1, 2, 3, {"a": 1}], [{"a": 1}, 3, 2, 1])]


def test_arrays_of_different_length_compare_by_index() -> None:
    assert kinds([1, 2, 3], [1, 9]) == [("changed", "$[1]"), ("removed", "$[2]")]
    assert kinds({"x": [1]}, {"x": [1, 2, 3]}) == [("added", "$.x[1]"), ("added", "$.x[2]")]


def test_paths_quote_keys_that_are_not_identifiers() -> None:
    assert kinds({"a b": {"it's": 1}}, {"a b": {"it's": 2}}) == [("changed", "$['a b']['it\\'s']")]


def test_big_integers_that_differ_in_the_last_digit() -> None:
    assert kinds({"id": 123456789012345678901234567890}, {"id": 123456789012345678901234567891}) == [
        ("changed", "$.id")
    ]


def test_float_tolerance_is_relative() -> None:
    assert diff({"v": 1000.0}, {"v": 1000.0001}, float_tolerance=1e-6) == []
    assert kinds({"v": 0.001}, {"v": 0.0011}, float_tolerance=1e-6) == [("changed", "$.v")]
    assert kinds({"v": 1.0}, {"v": 1.1}) == [("changed", "$.v")]
    assert diff({"v": 10**400}, {"v": 1.0}, float_tolerance=0.5) != []  # beyond float range: no crash


def test_differences_come_in_a_stable_order() -> None:
    a = {"z": 1, "a": 1, "m": [1, 2]}
    b = {"m": [1, 3], "a": 2, "z": 2}
    assert kinds(a, b) == [("changed", "$.a"), ("changed", "$.m[1]"), ("changed", "$.z")]
    assert kinds(dict(reversed(a.items())), b) == kinds(a, b)


def test_values_are_full_in_differences_and_bounded_when_stored() -> None:
    # Correlation and noise compare full values (a 269-character token must equal the learned one);
    # only the store and the reports bound them.
    long_text = "x" * 5000
    found = diff({"t": long_text, "big": [0] * 1000}, {"t": long_text + "y", "big": None})
    by_path = {d.path: d for d in found}
    assert by_path["$.t"].legacy == long_text and by_path["$.big"].legacy == [0] * 1000
    shown = stored_value("$.t", by_path["$.t"].legacy)
    assert len(shown) < LIMIT + 40 and shown.endswith("[5000 chars]")
    assert stored_value("$.big", by_path["$.big"].legacy).endswith("bytes]")


def test_bounded_keeps_small_values_as_they_are() -> None:
    assert bounded({"a": [1, 2]}) == {"a": [1, 2]}
    assert bounded("short") == "short"
    assert bounded(10**300).endswith("[301 digits]")


def test_json_type_names() -> None:
    values: tuple[Any, ...] = (None, True, 1, 1.5, "s", [], {})
    assert [json_type(v) for v in values] == [
        "null",
        "boolean",
        "number",
        "number",
        "string",
        "array",
        "object",
    ]


# --- properties -------------------------------------------------------------------------------------

documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.sampled_from([0.0, 1.0, 2.5, -1.5, 10**25])
    | st.sampled_from(["", "a", "b"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=15,
)


def json_equal(a: Any, b: Any) -> bool:
    """Reference JSON equality: numbers by value, booleans apart from numbers, containers deeply."""
    if json_type(a) != json_type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(documents)
def test_a_value_never_differs_from_itself(doc: Any) -> None:
    assert diff(doc, doc) == []
    assert diff(doc, json.loads(json.dumps(doc))) == []


@settings(max_examples=PROPERTY_EXAMPLES)
@given(documents, documents)
def test_no_differences_exactly_when_json_equal(a: Any, b: Any) -> None:
    found = diff(a, b)
    assert (found == []) == json_equal(a, b)
    assert diff(b, a) == [] if not found else diff(b, a) != []
    json.dumps([(d.kind, d.path, d.legacy, d.candidate) for d in found])


def test_arrays_of_unequal_length_are_aligned_before_blaming_elements() -> None:
    items = [{"id": i, "title": f"item {i}"} for i in range(20)]
    # the candidate drops the first of 20 items: one removal, not 19 changes and a removal
    assert kinds({"items": items}, {"items": items[1:]}) == [("removed", "$.items[0]")]
    assert kinds({"items": items}, {"items": [*items[:5], {"id": 99, "title": "new"}, *items[5:]]}) == [
        ("added", "$.items[5]")
    ]
    # elements that also changed still line up by their identity key
    changed = [{**x, "title": x["title"] + "!"} for x in items[1:]]
    found = kinds({"items": items}, {"items": changed})
    assert found[0] == ("removed", "$.items[0]") and len(found) == 20
    assert all(kind == "changed" and path.endswith(".title") for kind, path in found[1:])
    # scalars: difflib over the values
    assert kinds([1, 2, 3, 4], [1, 3, 4]) == [("removed", "$[1]")]


# --- lists of objects that come back in another order ---------------------------------------------------


def test_reordered_objects_with_an_identity_are_one_order_not_changed_values() -> None:
    # issue 21: a comment list newest first, each embedded author also differing (null bio against "")
    comments = [
        {"id": i, "body": f"comment {i}", "author": {"username": f"u{i}", "bio": None}} for i in (1, 2, 3)
    ]
    newest_first = [{**c, "author": {**c["author"], "bio": ""}} for c in reversed(comments)]
    found = diff({"comments": comments}, {"comments": newest_first})
    assert found[0] == Difference("order", "$.comments", [1, 2, 3], [3, 2, 1])
    assert [(d.kind, d.path) for d in found[1:]] == [
        ("type", f"$.comments[{i}].author.bio") for i in range(3)
    ]


def test_reordered_objects_keep_removed_and_added_elements_apart() -> None:
    legacy = [{"slug": s, "n": 1} for s in ("a", "b", "c")]
    candidate = [{"slug": "c", "n": 1}, {"slug": "a", "n": 2}]
    assert kinds(legacy, candidate) == [("order", "$"), ("changed", "$[0].n"), ("removed", "$[1]")]


def test_a_learned_identity_is_used_only_where_it_explains_more() -> None:
    # `username` is no named identity key, but unique on both sides: one order and one change
    legacy = [{"username": u, "bio": u.upper(), "seen": 1} for u in ("ann", "bob", "cy")]
    candidate = [{**legacy[2], "seen": 2}, legacy[0], legacy[1]]
    assert kinds(legacy, candidate) == [("order", "$"), ("changed", "$[2].seen")]
    # two values swapped between two objects: positions explain it with fewer differences than an order
    assert kinds([{"v": 1, "w": "x"}, {"v": 2, "w": "y"}], [{"v": 2, "w": "x"}, {"v": 1, "w": "y"}]) == [
        ("changed", "$[0].v"),
        ("changed", "$[1].v"),
    ]


def test_identities_that_do_not_name_the_same_elements_compare_by_position() -> None:
    # each backend numbered its own rows: [5, 6] against [9, 8] is no reorder of the same objects
    assert kinds([{"id": 5, "t": "a"}, {"id": 6, "t": "b"}], [{"id": 9, "t": "a"}, {"id": 8, "t": "b"}]) == [
        ("changed", "$[0].id"),
        ("changed", "$[1].id"),
    ]


@st.composite
def reordered_records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[int]]:
    """Records with unique ids; the same records in another order, some with a field changed."""
    key = draw(st.sampled_from(["id", "slug"]))
    ids = draw(st.lists(st.integers(0, 50), min_size=2, max_size=8, unique=True))
    legacy = [
        {key: i if key == "id" else f"s-{i}", "body": f"b{i}", "author": {"name": f"u{i}"}} for i in ids
    ]
    order = draw(st.permutations(range(len(legacy))).filter(lambda p: list(p) != sorted(p)))
    changed = set(draw(st.lists(st.sampled_from(range(len(legacy))), max_size=3)))
    candidate = [
        {**legacy[i], "author": {"name": legacy[i]["author"]["name"] + "!"}} if i in changed else legacy[i]
        for i in order
    ]
    return legacy, candidate, changed


@given(reordered_records())
def test_a_reordered_list_is_one_order_and_only_the_real_changes(
    case: tuple[list[dict[str, Any]], list[dict[str, Any]], set[int]],
) -> None:
    legacy, candidate, changed = case
    found = kinds({"items": legacy}, {"items": candidate})
    assert found == [
        ("order", "$.items"),
        *(("changed", f"$.items[{i}].author.name") for i in sorted(changed)),
    ]
