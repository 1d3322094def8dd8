"""jsonparse: exact big integers, strict errors, canonical bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.common.jsonparse import dumps, dumps_canonical, loads

BIG = 123456789012345678901234567890

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize(
    "text",
    [
        str(BIG),
        str(-BIG),
        f'{{"id": {BIG}, "list": [1, {BIG + 1}]}}',
        "-9223372036854775809",  # one below int64: orjson alone would give a float
        "18446744073709551616",  # one above uint64
    ],
)
@pytest.mark.parametrize("as_bytes", [True, False])
def test_big_integers_stay_exact(text: str, as_bytes: bool) -> None:
    # json.loads keeps big integers exact, and a float never == the exact int it approximates.
    assert loads(text.encode() if as_bytes else text) == json.loads(text)


@pytest.mark.parametrize("number", [2**64 - 1, -(2**63), 2**63, 10**18])
def test_integers_at_the_64_bit_edges_are_exact(number: int) -> None:
    assert loads(f"[{number}]".encode()) == [number]
    assert type(loads(str(number))) is int


def test_long_digit_runs_inside_strings_still_parse() -> None:
    body = '{"card": "4111111111111111111111", "n": 1.5}'
    assert loads(body.encode()) == {"card": "4111111111111111111111", "n": 1.5}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[1,]",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e400",
        b"[1e99999999999999999999]",
        b"\xff",
        b"{'a': 1}",
    ],
)
def test_invalid_json_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        loads(body)


def test_byte_order_mark_is_ignored() -> None:
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert loads("\ufeff[1]") == [1]


def test_lone_surrogate_escape_is_accepted_and_serialisable() -> None:
    value = loads(b'{"s": "\\ud800x"}')
    assert value == {"s": "\ud800x"}
    assert loads(dumps_canonical(value)) == value


def test_canonical_bytes_sort_keys_and_have_no_whitespace() -> None:
    assert (
        dumps_canonical({"b": 1, "a": [1, {"d": None, "c": True}]}) == b'{"a":[1,{"c":true,"d":null}],"b":1}'
    )


def test_canonical_bytes_tell_booleans_from_numbers() -> None:
    assert [True] == [1]  # Python's == cannot tell them apart; the bytes must
    assert dumps_canonical([True]) != dumps_canonical([1])


def test_canonical_bytes_keep_big_integers() -> None:
    assert dumps_canonical({"z": BIG, "a": 1}) == f'{{"a":1,"z":{BIG}}}'.encode()
    assert loads(dumps({"z": BIG})) == {"z": BIG}


@given(json_values)
def test_canonical_bytes_round_trip(value: Any) -> None:
    assert loads(dumps_canonical(value)) == value
    assert loads(dumps(value)) == value


@given(st.dictionaries(st.text(max_size=5), st.integers(), max_size=6), st.randoms())
def test_canonical_bytes_ignore_key_order(value: dict[str, int], rnd: Any) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert dumps_canonical(dict(items)) == dumps_canonical(value)
