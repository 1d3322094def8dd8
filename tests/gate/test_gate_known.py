"""known-differences.toml: strict loading, matching, expiry and appending."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.errors import ConfigError
from paritycheck.gate import Acceptance, KnownDifferences, path_matches
from paritycheck.gate import accepted as known

ENTRY = """
[[accepted]]
endpoint = "GET /api/v1/users/{id}"
kind = "changed"
path = "$.data.items[*].price"
reason = "candidate rounds to cents"
owner = "alice"
until = 2025-09-30
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known-differences.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_valid_file(tmp_path: Path) -> None:
    loaded = known.load(write(tmp_path, ENTRY + ENTRY.replace("2025-09-30", '"2025-10-01"')))
    assert loaded.source == str(tmp_path / "known-differences.toml")
    first, second = loaded.entries
    assert first.until == dt.date(2025, 9, 30) and second.until == dt.date(2025, 10, 1)
    assert (first.index, second.index) == (0, 1)


def test_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    assert known.load(tmp_path / "none.toml").entries == ()
    with pytest.raises(ConfigError, match="does not exist"):
        known.load(tmp_path / "none.toml", missing_ok=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('owner = "alice"\n', ""), r"accepted\[1\]: owner missing"),
        (('kind = "changed"', 'kind = "renamed"'), r"accepted\[1\]: kind must be one of"),
        (("until = 2025-09-30", 'until = "next week"'), r"accepted\[1\]: until must be a date"),
        (("until = 2025-09-30", "until = 2025-09-30T10:00:00"), r"accepted\[1\]: until must be a date"),
        (
            ('path = "$.data.items[*].price"', 'path = "$.items[?(@.x)]"'),
            r"accepted\[1\]: path .* not a valid",
        ),
        (('endpoint = "GET /api/v1/users/{id}"', 'endpoint = "users"'), r"accepted\[1\]: endpoint 'users'"),
        (
            ('reason = "candidate rounds to cents"', 'reason = "  "'),
            r"accepted\[1\]: reason must be a non-empty",
        ),
        (('owner = "alice"', 'owner = "alice"\nticket = 1'), r"accepted\[1\]: unknown key 'ticket'"),
    ],
)
def test_strict_validation_names_file_and_entry(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, ENTRY + ENTRY.replace(*change))
    with pytest.raises(ConfigError, match=message) as info:
        known.load(path)
    assert str(info.value).startswith(str(path))
    assert info.value.hint


@pytest.mark.parametrize(
    "text", ["[accepted]\nendpoint = 'x'\n", "[[accept]]\nendpoint = 'x'\n", "accepted = [1]\n", "not toml ="]
)
def test_wrong_shapes_are_config_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        known.load(write(tmp_path, text))


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("$.a.b", "$.a.b", True),
        ("$.a.b", "$.a.c", False),
        ("$.items[*].price", "$.items[12].price", True),
        ("$.items[*].price", "$.items[12].cost", False),
        ("$.items[2].price", "$.items[12].price", False),
        ("$..price", "$.data.items[3].price", True),
        ("$.data.*", "$.data.total", True),
        ("$.data.*", "$.data.x.y", False),
        ("$.items[*]", "$.items[*]", True),
        ("$['odd key']", "$['odd key']", True),
        ("header:x-*", "header:X-Request-Id", True),
        ("header:x-request-id", "header:etag", False),
        ("status", "status", True),
        ("status", "$.status", False),
    ],
)
def test_path_matching(pattern: str, path: str, matches: bool) -> None:
    assert path_matches(pattern, path) is matches


def test_match_prefers_an_unexpired_acceptance() -> None:
    day = dt.date(2025, 6, 1)
    old = Acceptance("* /api/**", "*", "$..price", "old", "bob", day - dt.timedelta(days=10), 0)
    new = Acceptance("GET /api/items", "changed", "$.items[*].price", "new", "alice", day, 1)
    diffs = KnownDifferences((old, new))
    assert diffs.match("GET /api/items", "changed", "$.items[0].price", today=day) is new
    assert diffs.match("POST /api/items", "changed", "$.items[0].price", today=day) is old
    assert diffs.match("GET /other", "changed", "$.items[0].price", today=day) is None
    assert not new.expired(day) and new.expired(day + dt.timedelta(days=1))


def test_append_creates_then_appends_and_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "known.toml"
    first = known.new_acceptance(
        endpoint="GET /a", kind="changed", path="$.x", reason="r1", owner="o", until="2030-01-01"
    )
    known.append(path, first)
    assert path.read_text().startswith("# Differences accepted for now")
    path.write_text(path.read_text() + "# a comment the team wrote\n")
    second = known.new_acceptance(
        endpoint="* /b/**", kind="*", path="header:x-*", reason="r2", owner="o", until=dt.date(2031, 2, 3)
    )
    result = known.append(path, second)
    assert [e.reason for e in result.entries] == ["r1", "r2"]
    assert "# a comment the team wrote" in path.read_text()
    assert known.load(path) == result


def test_append_refuses_to_touch_an_invalid_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[[accepted]]\nendpoint = 'GET /a'\n")
    before = path.read_text()
    entry = known.new_acceptance(
        endpoint="GET /a", kind="body", path="$", reason="r", owner="o", until="2030-01-01"
    )
    with pytest.raises(ConfigError, match=r"accepted\[0\]"):
        known.append(path, entry)
    assert path.read_text() == before


def test_new_acceptance_validates_like_the_file() -> None:
    today = dt.date(2025, 6, 1)
    with pytest.raises(ConfigError, match="already past"):
        known.new_acceptance(
            endpoint="GET /a",
            kind="changed",
            path="$.x",
            reason="r",
            owner="o",
            until="2025-05-31",
            today=today,
        )
    with pytest.raises(ConfigError, match="kind must be one of"):
        known.new_acceptance(
            endpoint="GET /a", kind="nope", path="$.x", reason="r", owner="o", until="2030-01-01"
        )
    entry = known.new_acceptance(
        endpoint="GET /a", kind="changed", path="$.x", reason="r", owner="o", until="2025-06-01", today=today
    )
    assert entry.until == today


@given(st.text(min_size=1).filter(str.strip))
def test_any_reason_round_trips_through_toml(reason: str) -> None:
    entry = Acceptance("GET /a", "changed", "$.x", reason, 'o\'brien "ob"', dt.date(2030, 1, 1))
    data = tomllib.loads(known.format_entry(entry))
    assert data["accepted"][0]["reason"] == reason
    assert data["accepted"][0]["owner"] == 'o\'brien "ob"'
