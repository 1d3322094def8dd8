"""normalise: key case, envelopes, timestamps, numbers, nulls, ignore and unordered paths."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.common.jsonparse import dumps_canonical
from paritycheck.compare.normalise import Rules, normalise, timestamp, to_camel, to_snake, unwrap
from paritycheck.config import EndpointRule, NormaliseConfig

DEFAULT = Rules.from_config(NormaliseConfig())

#: 100 random documents per property here; ``make fuzz`` sets PARITYCHECK_FUZZ_EXAMPLES for many more.
PROPERTY_EXAMPLES = int(os.environ.get("PARITYCHECK_FUZZ_EXAMPLES", "100"))


@pytest.mark.parametrize(
    ("key", "snake", "camel"),
    [
        ("userID", "user_id", "userId"),
        ("HTTPStatus", "http_status", "httpStatus"),
        ("kpiId", "kpi_id", "kpiId"),
        ("createdAt", "created_at", "createdAt"),
        ("CreatedAt", "created_at", "createdAt"),
        ("created_at", "created_at", "createdAt"),
        ("line2Text", "line2_text", "line2Text"),
        ("address2", "address2", "address2"),
        ("getHTTP2Response", "get_http2_response", "getHttp2Response"),
        ("userIDs", "user_ids", "userIds"),
        ("Content-Type", "content_type", "contentType"),
        ("_id", "_id", "_id"),
        ("__typename", "__typename", "__typename"),
        ("ID", "id", "id"),
        # Not identifiers: map keys that are data stay as they are.
        ("2024-05-01", "2024-05-01", "2024-05-01"),
        ("3F2504E0-4F89-11D3", "3F2504E0-4F89-11D3", "3F2504E0-4F89-11D3"),
        ("First Name", "First Name", "First Name"),
        ("$ref", "$ref", "$ref"),
        ("", "", ""),
    ],
)
def test_key_case(key: str, snake: str, camel: str) -> None:
    assert to_snake(key) == snake
    assert to_camel(key) == camel
    assert to_snake(snake) == snake and to_camel(camel) == camel


def test_keys_rewritten_at_every_depth_but_values_kept() -> None:
    doc = {"userInfo": {"firstName": "camelCase value", "Tags": [{"tagId": 1}]}}
    assert normalise(doc, DEFAULT) == {
        "user_info": {"first_name": "camelCase value", "tags": [{"tag_id": 1}]}
    }
    camel = Rules.from_config(NormaliseConfig(key_case="camel"))
    assert normalise({"user_info": {"tag_id": 1}}, camel) == {"userInfo": {"tagId": 1}}
    none = Rules.from_config(NormaliseConfig(key_case="none"))
    assert normalise({"userInfo": 1}, none) == {"userInfo": 1}


def test_colliding_keys_resolve_the_same_whatever_their_order() -> None:
    one = normalise({"userId": 1, "user_id": 2}, DEFAULT)
    other = normalise({"user_id": 2, "userId": 1}, DEFAULT)
    assert one == other == {"user_id": 2}  # the key already written that way wins


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"success": True, "data": {"a": 1}, "error": None}, {"a": 1}),
        ({"Success": True, "Data": [1, 2], "Message": "ok"}, [1, 2]),
        ({"ok": True, "data": None}, None),
        ({"status": True, "data": 5}, 5),
        ({"data": {"a": 1}, "error": None}, {"a": 1}),
        ({"data": {"a": 1}, "errors": []}, {"a": 1}),
        ({"success": False, "data": None, "error": "not found"}, {"error": "not found"}),
        ({"success": False, "message": "denied"}, {"error": "denied"}),
        ({"data": None, "errors": [{"code": "E1"}]}, {"error": [{"code": "E1"}]}),
        ({"isSuccess": True, "data": {"success": True, "data": 7}}, 7),
        # Not envelopes:
        ({"data": {"a": 1}}, {"data": {"a": 1}}),  # no flag, no error key
        ({"success": True, "data": 1, "page": 2}, {"success": True, "data": 1, "page": 2}),  # unknown key
        ({"success": "yes", "data": 1}, {"success": "yes", "data": 1}),  # flag not a boolean
        ({"success": True}, {"success": True}),  # nothing to unwrap
        ({"status": "active", "data": 1}, {"status": "active", "data": 1}),
        ([{"success": True, "data": 1}], [{"success": True, "data": 1}]),  # only at the root
    ],
)
def test_envelope(doc: Any, expected: Any) -> None:
    assert unwrap(doc) == expected


def test_payload_that_becomes_an_envelope_once_normalised_is_unwrapped() -> None:
    rules = Rules.from_config(NormaliseConfig(null_equals_missing=True))
    assert normalise({"data": {"a": 1}, "error": "e", "page": None}, rules) == {"error": "e"}
    assert normalise({"Data": 1, "data": 2, "success": True}, DEFAULT) == 2


def test_envelope_off_keeps_the_wrapper() -> None:
    rules = Rules.from_config(NormaliseConfig(envelope="none"))
    assert normalise({"success": True, "data": 1}, rules) == {"success": True, "data": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00.1234567Z", "2024-05-01T10:00:00.123456Z"),
        ("2024-05-01T10:00:00.123456+00:00", "2024-05-01T10:00:00.123456Z"),
        ("2024-05-01T10:00:00.1234569Z", "2024-05-01T10:00:00.123456Z"),  # truncated, not rounded
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:00:00+0200", "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:00:00+02", "2024-05-01T10:00:00Z"),
        ("2024-05-01T05:30:00-04:30", "2024-05-01T10:00:00Z"),
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00Z"),  # naive is UTC
        ("2024-05-01t10:00:00.000z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500000Z"),
        ("2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00Z"),
        # Kept as they are:
        ("2024-05-01", "2024-05-01"),
        ("2024-13-01T10:00:00Z", "2024-13-01T10:00:00Z"),
        ("2024-05-01T10:00:60Z", "2024-05-01T10:00:60Z"),
        ("2024-05-01T10:00:00+25:00", "2024-05-01T10:00:00+25:00"),
        ("2024-05-01T10:00:00 and more", "2024-05-01T10:00:00 and more"),
        ("hello", "hello"),
        ("", ""),
    ],
)
def test_timestamps(value: str, expected: str) -> None:
    assert timestamp(value) == expected
    assert timestamp(expected) == expected


def test_timestamps_can_be_switched_off() -> None:
    rules = Rules.from_config(NormaliseConfig(timestamps=False))
    assert normalise(["2024-05-01T10:00:00+00:00"], rules) == ["2024-05-01T10:00:00+00:00"]


def test_numbers() -> None:
    doc = [1.0, -0.0, 2.5, float(2**60), True, False, 10**30]
    out = normalise(doc, DEFAULT)
    assert out == [1, 0, 2.5, float(2**60), True, False, 10**30]
    assert [type(v) for v in out] == [int, int, float, float, bool, bool, int]


def test_null_equals_missing_drops_null_members_only() -> None:
    rules = Rules.from_config(NormaliseConfig(null_equals_missing=True))
    assert normalise({"a": None, "b": {"c": None}, "d": [None]}, rules) == {"b": {}, "d": [None]}
    assert normalise({"a": None}, DEFAULT) == {"a": None}


def test_ignore_paths_name_normalised_keys() -> None:
    rules = Rules.from_config(NormaliseConfig(ignore=("$.meta.request_id", "$..trace_id", "$.items[*].etag")))
    doc = {"Meta": {"RequestId": "r", "Version": 2}, "items": [{"id": 1, "etag": "x", "traceId": "t"}]}
    assert normalise(doc, rules) == {"meta": {"version": 2}, "items": [{"id": 1}]}


def test_ignore_paths_written_in_another_case_still_apply() -> None:
    rules = Rules.from_config(NormaliseConfig(ignore=("$.meta.requestId",)))
    assert normalise({"meta": {"request_id": "r", "x": 1}}, rules) == {"meta": {"x": 1}}


def test_ignored_array_element_becomes_null_and_root_stays() -> None:
    rules = Rules.from_config(NormaliseConfig(ignore=("$.list[0]", "$")))
    assert normalise({"list": [1, 2, 3]}, rules) == {"list": [None, 2, 3]}


def test_unordered_arrays_are_sorted_canonically() -> None:
    rules = Rules.from_config(NormaliseConfig(unordered=("$.tags", "$.items[*].ids")))
    tags: list[Any] = [{"b": 1}, {"a": 2}, "x", 3]
    out = normalise({"tags": tags, "items": [{"ids": [3, 1, 2]}], "other": [2, 1]}, rules)
    assert out["items"] == [{"ids": [1, 2, 3]}]
    assert out["other"] == [2, 1]
    assert normalise({"tags": list(reversed(tags))}, rules)["tags"] == out["tags"]


def test_unordered_objects_sort_by_their_identity_so_changed_ones_still_line_up() -> None:
    rules = Rules.from_config(NormaliseConfig(unordered=("$.comments",)))
    legacy = [{"id": 2, "author": {"bio": None}}, {"id": 1, "author": {"bio": "z"}}]
    candidate = [{"id": 1, "author": {"bio": "z"}}, {"id": 2, "author": {"bio": ""}}]
    ids = [[c["id"] for c in normalise({"comments": doc}, rules)["comments"]] for doc in (legacy, candidate)]
    assert ids == [[1, 2], [1, 2]]  # by canonical JSON, "" sorts before "z" and the pairs would cross


def test_data_paths_apply_with_and_without_the_envelope() -> None:
    rules = Rules.from_config(NormaliseConfig(), [EndpointRule(match="GET /x", unordered=("$.data",))])
    wrapped = normalise({"success": True, "data": ["b", "a"], "error": None}, rules)
    bare = normalise(["a", "b"], rules)
    assert wrapped == bare == ["a", "b"]
    nested = Rules.from_config(NormaliseConfig(ignore=("$.data.secret",)))
    assert normalise({"success": True, "data": {"secret": 1, "id": 2}}, nested) == {"id": 2}
    assert normalise({"secret": 1, "id": 2}, nested) == {"id": 2}


def test_endpoint_rules_are_added_to_the_global_ones() -> None:
    cfg = NormaliseConfig(ignore=("$.a",), unordered=("$.u",))
    rules = Rules.from_config(
        cfg, [EndpointRule(match="x", ignore=("$.b", "$.a")), EndpointRule(match="y", unordered=("$.v",))]
    )
    assert rules.ignore == ("$.a", "$.b")
    assert rules.unordered == ("$.u", "$.v")
    assert normalise({"a": 1, "b": 2, "c": 3, "v": [2, 1]}, rules) == {"c": 3, "v": [1, 2]}


@pytest.mark.parametrize(
    ("field", "value"), [("key_case", "kebab"), ("envelope", "always"), ("ignore", ("nope",))]
)
def test_bad_rules_raise_value_error(field: str, value: Any) -> None:
    with pytest.raises(ValueError):
        Rules(**{field: value})


def test_input_is_not_modified() -> None:
    doc = {"success": True, "data": {"userId": 1.0, "tags": [3, 1], "at": "2024-05-01T10:00:00+00:00"}}
    before = copy.deepcopy(doc)
    normalise(doc, Rules.from_config(NormaliseConfig(unordered=("$.data.tags",))))
    assert doc == before


def test_csharp_and_python_styles_normalise_alike() -> None:
    csharp = {
        "success": True,
        "data": {"kpiId": 1, "createdAt": "2024-05-01T10:00:00.1234567Z"},
        "error": None,
    }
    python = {"kpi_id": 1, "created_at": "2024-05-01T10:00:00.123456+00:00"}
    assert normalise(csharp, DEFAULT) == normalise(python, DEFAULT)
    wrong = {"kpi_id": 2, "created_at": "2024-05-01T10:00:00.123456+00:00"}
    assert normalise(csharp, DEFAULT) != normalise(wrong, DEFAULT)


# --- properties -------------------------------------------------------------------------------------

keys = st.sampled_from(
    [
        "id",
        "userId",
        "user_id",
        "UserID",
        "data",
        "success",
        "error",
        "errors",
        "message",
        "ok",
        "tags",
        "meta",
        "trace_id",
        "request_id",
        "HTTPStatus",
        "2024-01-01",
        "a b",
    ]
) | st.text(max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["2024-05-01T10:00:00.1234567Z", "2024-05-01 12:00:00+0200", "2024-05-01", "x", ""])
    | st.text(max_size=10)
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
rule_sets = st.builds(
    NormaliseConfig,
    key_case=st.sampled_from(["snake", "camel", "none"]),
    envelope=st.sampled_from(["auto", "none"]),
    timestamps=st.booleans(),
    null_equals_missing=st.booleans(),
    ignore=st.lists(
        st.sampled_from(["$.meta", "$..trace_id", "$.data.id", "$[0]", "$.tags[1]"]), max_size=2
    ).map(tuple),
    unordered=st.lists(st.sampled_from(["$.tags", "$.data", "$..tags", "$"]), max_size=2).map(tuple),
)


def _shuffled(doc: Any, rnd: Any) -> Any:
    if isinstance(doc, dict):
        items = [(k, _shuffled(v, rnd)) for k, v in doc.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(doc, list):
        return [_shuffled(v, rnd) for v in doc]
    return doc


@settings(max_examples=PROPERTY_EXAMPLES)
@given(documents, rule_sets)
def test_normalising_twice_equals_normalising_once(doc: Any, cfg: NormaliseConfig) -> None:
    rules = Rules.from_config(cfg)
    once = normalise(doc, rules)
    assert dumps_canonical(normalise(once, rules)) == dumps_canonical(once)


@settings(max_examples=PROPERTY_EXAMPLES)
@given(documents, rule_sets, st.randoms())
def test_key_order_never_matters(doc: Any, cfg: NormaliseConfig, rnd: Any) -> None:
    rules = Rules.from_config(cfg)
    assert dumps_canonical(normalise(_shuffled(doc, rnd), rules)) == dumps_canonical(normalise(doc, rules))
