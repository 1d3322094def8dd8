"""``suggest``: rule detection, honest clear counts, valid TOML, and the bundled demo end to end."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from paritycheck import config as config_mod
from paritycheck import samples
from paritycheck.common.jsonpath import wildcard
from paritycheck.compare import Comparator
from paritycheck.config import Backend, Config, NormaliseConfig
from paritycheck.models import Exchange, Outcome, Reply, Request, Status
from paritycheck.noise import NoisePath
from paritycheck.noise.suggest import config_of_run, suggest
from paritycheck.run import config_record, runner
from paritycheck.store import Store

JSON = (("content-type", "application/json"),)
ROOT = Path(__file__).resolve().parents[2]


def reply(body: Any) -> Reply:
    return Reply(200, JSON, json.dumps(body).encode(), 1.0)


def store_run(store: Store, config: Config, pairs: list[tuple[str, Any, Any, Any]]) -> int:
    """Store one exchange per (endpoint, legacy body, candidate body, legacy re-ask body or None)."""
    comparator = Comparator(config.normalise, config.endpoint)
    run_id = store.start_run(tool_version="t", config=config_record(config), backends={}, captures=[])
    for i, (endpoint, legacy, candidate, again) in enumerate(pairs):
        a, b = reply(legacy), reply(candidate)
        diffs = comparator.compare(endpoint, a, b)
        request = Request(method="GET", url=f"http://h/{i}", path=f"/{i}")
        store.add(
            run_id,
            Outcome(
                exchange=Exchange(index=i, source="c", request=request),
                endpoint=endpoint,
                status=Status.MISMATCHED if diffs else Status.MATCHED,
                legacy=a,
                candidate=b,
                differences=diffs,
                legacy_again=None if again is None else reply(again),
            ),
        )
    store.finish_run(run_id, status="complete")
    return run_id


def test_each_false_mismatch_gets_its_rule_and_the_counts_are_measured(tmp_path: Path) -> None:
    config = Config(normalise=NormaliseConfig(key_case="none", timestamps=False))
    pairs = [
        ("GET /a", {"userId": 1}, {"user_id": 1}, None),
        ("GET /a", {"at": "2024-05-01T10:00:00.1234567Z"}, {"at": "2024-05-01T10:00:00.123456+00:00"}, None),
        ("GET /a", {"note": None, "n": 1}, {"n": 1}, None),
        ("GET /a", {"w": 1.0}, {"w": 1.0000000000000002}, None),
        ("GET /tags", {"tags": ["b", "a"]}, {"tags": ["a", "b"]}, None),
        ("GET /a", {"price": 10}, {"price": 11}, None),  # a real bug
    ]
    with Store.open(tmp_path / "r.db") as store:
        run_id = store_run(store, config, pairs)
        found = suggest(store, run_id, config_of_run(store.run(run_id)))
    by_key = {(r.key, r.endpoint): r for r in found.rules}
    assert by_key[("key_case", None)].value == "snake"
    assert by_key[("timestamps", None)].value is True
    assert by_key[("null_equals_missing", None)].value is True
    assert 2.2e-16 < by_key[("float_tolerance", None)].value <= 1e-15
    assert by_key[("unordered", "GET /tags")].value == "$.tags"
    assert all(r.clears == 1 for r in found.rules), found.rules
    # the null and the order are decisions: the candidate really answers differently there
    assert {(r.key, r.endpoint) for r in found.decisions} == {
        ("null_equals_missing", None),
        ("unordered", "GET /tags"),
    }
    assert by_key[("null_equals_missing", None)].hides == (("removed $.note", 1),)
    assert by_key[("unordered", "GET /tags")].hides == (("order $.tags", 1),)
    assert (found.compared, found.remaining) == (6, 3), "the decisions and the real bug are not cleared"

    text = found.to_toml()
    pasted = config_mod.parse(tomllib.loads(text), source="suggested")
    assert pasted == dataclasses.replace(found.merged(), source="suggested")
    assert pasted.normalise.key_case == "snake" and not pasted.normalise.null_equals_missing
    assert pasted.endpoint == ()  # the unordered rule is a decision: listed, not pasted
    listed = text[text.index("# Decisions") :]
    assert "null_equals_missing = true" in listed and "hides: `removed $.note` on 1 exchange" in listed
    assert 'unordered = ["$.tags"]' in listed and "hides: `order $.tags` on 1 exchange" in listed
    assert "clears 1 exchange" in text
    assert "price" not in text


def test_nothing_to_suggest_still_prints_the_config(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        run_id = store_run(store, Config(), [("GET /a", {"price": 1}, {"price": 2}, None)])
        text = suggest(store, run_id, Config()).to_toml()
    assert "Nothing to suggest" in text
    assert tomllib.loads(text)["normalise"]["key_case"] == "snake"


def test_a_path_stable_on_both_legacy_asks_is_never_ignored(tmp_path: Path) -> None:
    # The learner was (wrongly) told $.price is noise; a sampled exchange shows it is stable on legacy.
    pairs = [
        ("GET /a", {"price": 10, "rid": i}, {"price": 11, "rid": -i}, {"price": 10, "rid": i + 100})
        for i in range(3)
    ]
    with Store.open(tmp_path / "r.db") as store:
        run_id = store_run(store, Config(), pairs)
        paths = [
            NoisePath("GET /a", p, 3, 3, 3, 3, "legacy re-asks differed", ("changed",))
            for p in ("$.price", "$.rid")
        ]
        store.apply_noise(run_id, paths)
        found = suggest(store, run_id, Config())
    ignored = [r.value for r in found.rules if r.key == "ignore"]
    assert ignored == ["$.rid"]
    assert any("$.price" in note and "regression" in note for note in found.notes)


@pytest.mark.parametrize("allow_writes", [False, True], ids=["reads", "with-writes-like-make-demo"])
async def test_demo_suggestions_clear_false_mismatches_and_keep_the_seeded_bugs(
    tmp_path: Path, allow_writes: bool
) -> None:
    db = tmp_path / "demo.db"
    capture = [ROOT / "captures" / "auth.har"]
    demo = config_mod.load(ROOT / "paritycheck.toml")
    demo = dataclasses.replace(demo, replay=dataclasses.replace(demo.replay, allow_writes=allow_writes))
    async with samples.running(summary_delay=0) as s:
        backends = dataclasses.replace(
            demo.backends, legacy=Backend(url=s.legacy_url), candidate=Backend(url=s.candidate_url)
        )
        first = await runner.replay_captures(dataclasses.replace(demo, backends=backends), capture, db=db)
        with Store.open(db) as store:
            found = suggest(store, first.run_id, config_of_run(store.run(first.run_id)))
            text = found.to_toml()
        # the null for a missing key and the tag order are decisions, never pasted (docs/noise.md)
        assert {r.key for r in found.decisions} == {"null_equals_missing", "unordered"}
        assert not {r.key for r in found.rules if not r.decision} & {"null_equals_missing", "unordered"}
        # Pasted into a fresh config; noise learning off so the rules alone must do the work.
        fresh = config_mod.parse({**tomllib.loads(text), "noise": {"samples": 0}}, source="pasted")
        second = await runner.replay_captures(dataclasses.replace(fresh, backends=backends), capture, db=db)
    assert first.summary.mismatched > second.summary.mismatched
    with Store.open(db) as store:
        mismatched = list(store.exchanges(second.run_id, outcome="mismatched"))
    # Every exchange still mismatched shows a seeded real bug (docs/demo.md 8-10, 12, 23, 27), a status
    # difference, or what a decision (not pasted) would hide: a null the candidate omits, the tags' order.
    real = {"status", "$.progress_percent", "$.target_value", "$.items[0].comment_count", "$.invite_token"}
    real.add("$.items[0]")  # the task list's lost first element
    hidden = {text for rule in found.decisions for text, _n in rule.hides}
    for x in mismatched:
        shows_a_bug = any(d.path in real or d.path.endswith("].progress_percent") for d in x.differences)
        decided = all(f"{d.kind} {wildcard(d.path)}" in hidden for d in x.differences)
        assert shows_a_bug or decided, (
            f"a false mismatch survived the suggested rules: {x.endpoint} {x.differences}"
        )
    kept = {(x.endpoint, d.kind, d.path) for x in mismatched for d in x.differences}
    assert not any(path.endswith(("request_id", "generated_at")) for _e, _k, path in kept)
    assert ("GET /api/v1/kpis/{id}", "type", "$.target_value") in kept
    assert ("GET /api/v1/kpis/{id}", "status", "status") in kept
    assert any(e.startswith("GET /api/v1/goals") and p.endswith("progress_percent") for e, _k, p in kept)


def test_clock_read_timestamps_on_a_write_are_ignored_but_a_stable_one_is_not(tmp_path: Path) -> None:
    # POST /login: no legacy re-asks (writes are never asked twice); expires_at = now + 1h on each backend.
    login = [
        (
            "POST /login",
            {"expires_at": f"2026-01-01T10:00:0{i}.100000Z"},
            {"expires_at": f"2026-01-01T10:00:0{i}.300000Z"},
            None,
        )
        for i in range(3)
    ]
    # GET /item: updated_at is stored data, stable on both legacy asks, yet 2 s off on the candidate: a bug.
    item = [
        (
            "GET /item",
            {"updated_at": "2026-01-01T09:00:00Z"},
            {"updated_at": "2026-01-01T09:00:02Z"},
            {"updated_at": "2026-01-01T09:00:00Z"},
        )
    ]
    # With the run clock off (timestamps_tolerance = 0) nothing classed them during the run.
    off = Config(normalise=NormaliseConfig(timestamps_tolerance=0))
    with Store.open(tmp_path / "r.db") as store:
        run_id = store_run(store, off, login + item)
        found = suggest(store, run_id, off)
    ignored = {(r.endpoint, r.value) for r in found.rules if r.key == "ignore"}
    assert ("POST /login", "$.expires_at") in ignored
    assert not any(path == "$.updated_at" for _e, path in ignored)
    assert any("$.updated_at" in note and "regression" in note for note in found.notes)
