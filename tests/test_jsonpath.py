"""jsonpath: the supported subset, matching concrete locations, formatting and wildcarding paths."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.common.jsonpath import Part, PathSet, format_path, parse, wildcard

parts_strategy = st.lists(st.text(max_size=6) | st.integers(min_value=0, max_value=5), max_size=5)


@pytest.mark.parametrize(
    ("expr", "steps"),
    [
        ("$", ()),
        ("$.meta.request_id", ((False, "meta"), (False, "request_id"))),
        ("$..trace_id", ((True, "trace_id"),)),
        ("$.items[2].price", ((False, "items"), (False, 2), (False, "price"))),
        ("$.items[*].id", ((False, "items"), (False, None), (False, "id"))),
        ("$.data.*", ((False, "data"), (False, None))),
        ("$['a b'][\"c.d\"]", ((False, "a b"), (False, "c.d"))),
        ("$['it\\'s']", ((False, "it's"),)),
        ("$..[0]", ((True, 0),)),
        ("$..*", ((True, None),)),
        ("$.meta.request-id", ((False, "meta"), (False, "request-id"))),
        (" $.a ", ((False, "a"),)),
    ],
)
def test_parse_supported_subset(expr: str, steps: tuple[Any, ...]) -> None:
    assert parse(expr).steps == steps


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("", "must start with '$'"),
        ("meta.id", "must start with '$'"),
        ("$.", "ends with '.'"),
        ("$..", "'..' must be followed"),
        ("$...a", "unexpected '.'"),
        ("$a", "unexpected 'a'"),
        ("$[", "unclosed '['"),
        ("$[1", "unclosed '['"),
        ("$['a]", "unclosed quote"),
        ("$[-1]", "negative indexes are not supported"),
        ("$[?(@.a)]", "filter expressions are not supported"),
        ("$[0:2]", "slices and unions are not supported"),
        ("$[0,1]", "slices and unions are not supported"),
        ("$[x]", "expected an index"),
        ("$.a b", "unexpected ' '"),
    ],
)
def test_parse_rejects_with_a_reason(expr: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(expr)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("expr", "location", "expected"),
    [
        ("$.meta.request_id", ("meta", "request_id"), True),
        ("$.meta.request_id", ("meta",), False),
        ("$.meta.request_id", ("meta", "request_id", "x"), False),
        ("$..trace_id", ("trace_id",), True),
        ("$..trace_id", ("a", 3, "b", "trace_id"), True),
        ("$..trace_id", ("trace_id", "x"), False),
        ("$.items[*].id", ("items", 7, "id"), True),
        ("$.items[*].id", ("items", "7", "id"), True),  # * selects object members too
        ("$.items[2]", ("items", 2), True),
        ("$.items[2]", ("items", "2"), False),  # an index never selects a key "2"
        ("$.items.2", ("items", 2), False),  # and a name never selects an element
        ("$", (), True),
        ("$", ("a",), False),
        ("$.a..b.c", ("a", "x", "y", "b", "c"), True),
        ("$.a..b.c", ("a", "b", "c"), True),
        ("$.a..b.c", ("b", "c"), False),
    ],
)
def test_matches(expr: str, location: tuple[Part, ...], expected: bool) -> None:
    assert parse(expr).matches(location) is expected


def test_covers_includes_everything_below_a_match() -> None:
    path = parse("$.meta")
    assert path.covers(("meta", "request_id"))
    assert path.covers(("meta",))
    assert not path.covers(("data", "meta"))
    assert not path.matches(("meta", "request_id"))


DOC = {"meta": {"request_id": "r1", "trace_id": "t"}, "items": [{"id": 1, "trace_id": "a"}, {"id": 2}]}


def test_find_visits_matches_in_document_order() -> None:
    assert parse("$..trace_id").find(DOC) == [(("meta", "trace_id"), "t"), (("items", 0, "trace_id"), "a")]
    assert parse("$.items[*].id").find(DOC) == [(("items", 0, "id"), 1), (("items", 1, "id"), 2)]
    assert parse("$.nothing").find(DOC) == []


def test_remove_returns_a_copy_without_the_matches() -> None:
    before = repr(DOC)
    assert parse("$..trace_id").remove(DOC) == {"meta": {"request_id": "r1"}, "items": [{"id": 1}, {"id": 2}]}
    assert parse("$.items[0]").remove(DOC)["items"] == [{"id": 2}]
    assert parse("$").remove(DOC) == DOC
    assert repr(DOC) == before


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), "$"),
        (("data", "items", 2, "price"), "$.data.items[2].price"),
        (("a b",), "$['a b']"),
        (("it's", "back\\slash"), "$['it\\'s']['back\\\\slash']"),
        (("2", "user-id", "_ok"), "$['2']['user-id']._ok"),
    ],
)
def test_format_path(parts: tuple[Part, ...], expected: str) -> None:
    assert format_path(parts) == expected


@given(parts_strategy)
def test_format_path_parses_back_to_the_same_location(parts: list[Part]) -> None:
    path = parse(format_path(parts))
    assert path.matches(parts)
    assert all(descend is False for descend, _ in path.steps)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.data.items[2].id", "$.data.items[*].id"),
        ("$[0][10]['a b']", "$[*][*]['a b']"),
        ("$.data.id", "$.data.id"),
        ("status", "status"),
        ("header:content-type", "header:content-type"),
        ("$[bad", "$[bad"),
    ],
)
def test_wildcard(path: str, expected: str) -> None:
    assert wildcard(path) == expected


@given(parts_strategy)
def test_wildcard_path_matches_the_original_location(parts: list[Part]) -> None:
    assert parse(wildcard(format_path(parts))).matches(parts)


step_strategy = st.tuples(st.booleans(), st.sampled_from(["a", "b", 0, 1, None]))


@given(
    st.lists(st.lists(step_strategy, max_size=4), min_size=1, max_size=3),
    st.lists(st.sampled_from(["a", "b", "c", 0, 1, 2]), max_size=6),
)
def test_pathset_automaton_agrees_with_matches(step_lists: list[list[Any]], location: list[Part]) -> None:
    def text(steps: list[Any]) -> str:
        out = "$"
        for descend, sel in steps:
            written = "*" if sel is None else f"[{sel}]" if isinstance(sel, int) else sel
            out += (".." if descend else "" if written.startswith("[") else ".") + written
        return out

    paths = tuple(parse(text(steps)) for steps in step_lists)
    machine = PathSet(paths)
    states = machine.start
    for part in location:
        states = machine.advance(states, part)
    accepted = set(machine.accepted(states))
    assert accepted == {i for i, path in enumerate(paths) if path.matches(location)}
