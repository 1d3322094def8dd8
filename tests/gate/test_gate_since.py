"""gate --since: the runs (live windows) of a period judged together as one."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import Result
from gatehelpers import add_run, base_latency, counts, open_store, timed

from paritycheck.config import GateConfig
from paritycheck.errors import ConfigError, ExitStatus, StoreError
from paritycheck.gate import FAIL, NOT_JUDGED, PASS, evaluate, evaluate_runs, parse_since, runs_since
from paritycheck.models import Difference, Status
from paritycheck.store import Store
from tests.clirun import invoke

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
EP = "GET /api/v1/users/{id}"


def _backdate(db: Path, run_id: int, when: dt.datetime) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET started = ? WHERE id = ?", (when.isoformat(timespec="milliseconds"), run_id)
        )


def _row(result: object, name: str) -> object:
    return next(c for c in result.criteria if c.name == name and c.endpoint is None)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", NOW - dt.timedelta(hours=24)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("1h30m", NOW - dt.timedelta(minutes=90)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("1.5h", NOW - dt.timedelta(minutes=90)),
        ("2026-11-25", dt.datetime(2026, 11, 25, tzinfo=dt.UTC)),
        ("2026-11-25T22:30", dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC)),
        ("2026-11-25T23:30+01:00", dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC)),
    ],
)
def test_parse_since(text: str, expected: dt.datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "0h", "24", "yesterday", "h24", "-3h"])
def test_parse_since_refuses_the_rest(text: str) -> None:
    with pytest.raises(ConfigError, match="neither a duration nor a date") as info:
        parse_since(text, now=NOW)
    assert "--since 24h" in (info.value.hint or "")


def test_outcomes_of_the_period_are_merged(tmp_path: Path) -> None:
    gate = GateConfig(min_parity=99.9)
    with open_store(tmp_path) as store:
        old = add_run(store, counts(EP, mismatched=50))  # before the period: not judged
        first = add_run(store, counts(EP, matched=1019, mismatched=1))
        second = add_run(store, counts(EP, matched=1020))
        add_run(store, counts(EP, matched=5), status="running")  # the open window
        _backdate(store.path, old, NOW - dt.timedelta(days=2))
        for run_id in (first, second):
            _backdate(store.path, run_id, NOW - dt.timedelta(hours=1))
        period = runs_since(store, parse_since("24h", now=NOW))
        assert period.run_ids == (first, second)
        assert len(period.running) == 1

        result = evaluate_runs(store, period.run_ids, gate, period=period.label)
        assert result.passed
        assert result.runs == (first, second) and result.run_id == second
        assert result.subject == "2 run(s) since 2026-11-25 12:00 UTC"
        complete = _row(result, "runs complete")
        assert complete.measured == 2 and complete.state == PASS  # type: ignore[attr-defined]
        assert f"{first}-{second}" in complete.note  # type: ignore[attr-defined]
        parity = _row(result, "parity")
        assert "2,039 of 2,040 matched" in parity.note  # type: ignore[attr-defined]
        assert result.to_json()["runs"] == [first, second]
        assert result.to_json()["period"] == period.label


def test_latencies_of_the_period_are_merged(tmp_path: Path) -> None:
    """20 latency pairs per window: neither window alone is judged on latency, the period is."""
    rng = random.Random(5)
    gate = GateConfig(min_samples=30)
    with open_store(tmp_path) as store:
        ids = [add_run(store, timed(EP, base_latency(rng, 20), base_latency(rng, 20))) for _ in range(2)]
        alone = evaluate(store, ids[0], gate)
        assert [c.state for c in alone.criteria if c.endpoint == EP] == [NOT_JUDGED]
        result = evaluate_runs(store, ids, gate, period="since x")
        assert {c.name for c in result.criteria if c.endpoint == EP} == {"p95 ratio", "p95"}
        assert "n=40" in next(c.note for c in result.criteria if c.name == "p95")


def test_one_bad_window_fails_the_period(tmp_path: Path) -> None:
    gate = GateConfig(min_parity=99.0)
    with open_store(tmp_path) as store:
        a = add_run(store, counts(EP, matched=100))
        b = add_run(store, counts(EP, matched=80, mismatched=20))
        c = add_run(store, counts(EP, matched=10), status="interrupted")
        result = evaluate_runs(store, [a, b, c], gate, period="since x")
        assert not result.passed
        assert _row(result, "parity").state == FAIL  # type: ignore[attr-defined]
        complete = _row(result, "runs complete")
        assert complete.state == FAIL and f"{c} (interrupted)" in complete.note  # type: ignore[attr-defined]


def test_a_period_without_finished_runs_is_an_error(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        add_run(store, counts(EP, matched=5), status="running")
        with pytest.raises(StoreError, match=r"no finished run .* since .* \(1 still running\)"):
            runs_since(store, parse_since("1h"))


def _invoke(tmp_path: Path, *args: str) -> Result:
    return invoke("gate", "--db", "runs.db", *args, cwd=tmp_path)


def test_cli_gate_since(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        ids = [add_run(store, counts(EP, matched=50)) for _ in range(3)]
    result = _invoke(tmp_path, "--since", "24h", "--json")
    assert result.exit_code == ExitStatus.OK, result.output  # type: ignore[attr-defined]
    verdict = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert verdict["runs"] == ids and verdict["verdict"] == "pass"
    assert verdict["period"].startswith("since ")
    text = _invoke(tmp_path, "--since", "24h")
    assert "gate: PASS (3 run(s) since" in text.output  # type: ignore[attr-defined]
    # Judging a period does not record a verdict on any one run.
    with Store.open(tmp_path / "runs.db", create=False) as store:
        assert "gate" not in store.run(ids[-1]).meta

    both = _invoke(tmp_path, "--since", "24h", "--run", "1")
    assert both.exit_code == ExitStatus.USAGE  # type: ignore[attr-defined]
    bad = _invoke(tmp_path, "--since", "soon")
    assert bad.exit_code == ExitStatus.USAGE  # type: ignore[attr-defined]
    assert "neither a duration nor a date" in bad.output  # type: ignore[attr-defined]
    future = _invoke(tmp_path, "--since", "2999-01-01")
    assert future.exit_code == ExitStatus.USAGE  # type: ignore[attr-defined]
    assert "no finished run" in future.output  # type: ignore[attr-defined]


def test_breaking_findings_of_every_window_count_once_each(tmp_path: Path) -> None:
    """max_breaking over a period: a breaking finding in any window counts, and once however often seen;
    so does the refusal the candidate accepts, on its own criterion."""
    from tests.store.storehelpers import outcome

    refused = Difference("status", "status", 403, 200)
    gate = GateConfig(min_parity=0, max_failed=100, max_breaking=1)
    with open_store(tmp_path) as store:
        ids: list[int] = []
        for n, diff in enumerate([refused, refused, Difference("removed", "$.id", 7, None)]):
            ids.append(add_run(store, [outcome(n, status=Status.MISMATCHED, differences=(diff,))]))
        two = evaluate_runs(store, ids[:2], gate, period="since x")
        (row,) = [c for c in two.criteria if c.name == "breaking findings"]
        assert row.measured == 1 and row.state == PASS
        (refusals,) = [c for c in two.criteria if c.name == "candidate accepts what legacy refused"]
        assert refusals.measured == 1 and refusals.state == FAIL
        three = evaluate_runs(store, ids, gate, period="since x")
        (row,) = [c for c in three.criteria if c.name == "breaking findings"]
        assert row.measured == 2 and row.state == FAIL


def test_a_period_is_narrowed_by_name_kind_and_capture_and_lists_its_runs(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:

        def run(name: str | None, capture: dict[str, str], meta: dict[str, object] | None = None) -> int:
            run_id = store.start_run(
                tool_version="test", config={}, backends={}, captures=[capture], name=name
            )
            for o in counts(EP, matched=10):
                store.add(run_id, o)
            store.finish_run(run_id, status="complete")
            if meta:
                store.update_meta(run_id, meta)
            return run_id

        nightly = run("nightly-1", {"name": "caps/orders.har", "digest": "ab12cd34" + "0" * 56})
        other = run(None, {"name": "other.har", "digest": "f" * 64})
        window = run(None, {"name": "proxy window from 2026-11-26T11:00:00+00:00"})
        explored = run(None, {"name": "explore-seed0.jsonl", "digest": "e" * 64}, {"explore": {}})
    cases = {
        ("--run-name", "nightly-*"): [nightly],
        ("--kind", "live"): [window],
        ("--kind", "explore"): [explored],
        ("--kind", "replay"): [nightly, other],
        ("--kind", "replay", "--kind", "live"): [nightly, other, window],
        ("--capture", "orders.har"): [nightly],
        ("--capture", "AB12CD34"): [nightly],
        ("--kind", "replay", "--capture", "*.har", "--run-name", "night*"): [nightly],
    }
    for args, expected in cases.items():
        result = _invoke(tmp_path, "--since", "24h", "--json", *args)
        verdict = json.loads(result.stdout)  # type: ignore[attr-defined]
        assert [r["id"] for r in verdict["included"]] == verdict["runs"] == expected, args
    text = _invoke(tmp_path, "--since", "24h", "--kind", "replay")
    assert "runs judged together (since" in text.output and "UTC, kind replay" in text.output  # type: ignore[attr-defined]
    assert "nightly-1" in text.output and "orders.har" in text.output  # type: ignore[attr-defined]
    none = _invoke(tmp_path, "--since", "24h", "--run-name", "weekly-*")
    assert none.exit_code == ExitStatus.USAGE and "no finished run" in none.output  # type: ignore[attr-defined]
    alone = _invoke(tmp_path, "--kind", "live")
    assert alone.exit_code == ExitStatus.USAGE and "add --since" in alone.output  # type: ignore[attr-defined]
