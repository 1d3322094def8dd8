"""``rollout status``'s judge on stored runs: advance, hold with what is missing, roll back with the
trigger that fired; steps recorded in the store; verdicts kept for the timeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from paritycheck.errors import ConfigError, ExitStatus, StoreError
from paritycheck.models import Difference, Status
from paritycheck.rollout import ADVANCE, HOLD, ROLLBACK, judge, record, start_step
from paritycheck.store import Store
from tests.rollout.cohorts import cohorts
from tests.rollout.rollouthelpers import SEED, add_run, later, outcome, plan, window


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "r.db") as s:
        yield s


def test_a_step_is_recorded_by_number_share_or_name(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    assert start_step(store, config, "2").step == 2
    assert start_step(store, config, "50%").step == 3
    rec = start_step(store, config, "100", source={"by": "test"})
    assert (rec.step, rec.label, rec.share, rec.source) == (4, "100%", 100.0, {"by": "test"})
    assert rec.plan["min_parity"] == 99.9  # [gate]'s value, where the step sets none
    assert [s.step for s in store.rollout_steps()] == [2, 3, 4]
    assert store.current_step() == rec
    with pytest.raises(ConfigError, match="there is no rollout step '5'"):
        start_step(store, config, "5")


def test_status_before_any_step_is_a_usage_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no rollout step has begun") as caught:
        judge(store, plan(tmp_path))
    assert caught.value.hint and "rollout start 1" in caught.value.hint


def test_hold_says_what_is_missing_then_advance(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1")
    first = judge(store, config)
    assert first.decision == HOLD and first.exit_status == ExitStatus.HOLD == 75
    assert {m.what for m in first.missing} == {"time", "samples", "evidence"}
    window(store, 60)
    held = judge(store, config, now=later(store, 20))
    assert [(m.what, m.detail) for m in held.missing] == [
        ("time", "4h more (held 20h of 24h)"),
        ("samples", "40 more exchanges (60 of 100)"),
    ]
    window(store, 60)
    done = judge(store, config, now=later(store, 24))
    assert done.decision == ADVANCE and done.exit_status == 0
    assert done.next_step == (2, "25%", 25.0)
    assert done.headline == "ADVANCE from step 1 (10%) to step 2 (25%)"
    assert done.exchanges == 120 and len(done.runs) == 2


def test_a_slower_candidate_holds_at_the_p95_criterion(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "2")
    window(store, 100, candidate_ms=60.0)
    verdict = judge(store, config, now=later(store, 30))
    assert verdict.decision == HOLD
    assert [m.detail for m in verdict.missing] == ["p95 ratio (GET /items/{id}): 3.000× > 1.100×"]


def test_errors_mid_step_roll_back_on_the_window_not_the_diluted_step(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1")
    for _ in range(5):
        window(store, 200)
    assert judge(store, config, now=later(store, 2)).decision == HOLD
    run = window(store, 180, bad=20)  # 10% in this window, 1.7% over the step so far
    verdict = judge(store, config, now=later(store, 3))
    assert verdict.decision == ROLLBACK and verdict.exit_status == 1
    assert [(f.name, f.where) for f in verdict.fired] == [("max_error_rate", f"run {run}")]
    fired = verdict.fired[0]
    assert fired.measured == pytest.approx(10.0) and 5.0 < fired.bound < 10.0
    assert verdict.headline.startswith(f"ROLL BACK at step 1 (10%): error rate 10% in run {run}")
    assert {p.where for p in verdict.pages} == {f"run {run}", "the step so far"}  # > 1% there too


def test_a_trigger_needs_evidence_not_one_unlucky_request(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1")
    window(store, 12, bad=1)  # 8% of 13: too few to say the rate is above 5%
    window(store, 95, bad=5)  # 5% of 100: not evidence of more than 5%
    verdict = judge(store, config, now=later(store, 1))
    assert verdict.decision == HOLD and verdict.fired == ()
    assert "candidate error rate (shadow): 5.31% > 0.1%" in [m.detail for m in verdict.missing]


def test_the_last_step_advances_to_complete(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "4")
    window(store, 100)
    verdict = judge(store, config, now=later(store, 72))
    assert verdict.decision == ADVANCE and verdict.next_step is None
    assert "the rollout is complete" in verdict.headline


def test_new_findings_hold_step_3_but_known_ones_do_not(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    old = Difference("changed", "$.name", "a", "b")
    add_run(store, [outcome("GET /items/{id}", Status.MISMATCHED, diffs=(old,))])
    time.sleep(0.002)  # run and step start times are kept to the millisecond: the run began before
    start_step(store, config, "3")
    add_run(
        store,
        [outcome("GET /items/{id}") for _ in range(1000)]
        + [outcome("GET /items/{id}", Status.MISMATCHED, diffs=(old,))],
    )
    assert judge(store, config, now=later(store, 24)).decision == ADVANCE
    new = Difference("removed", "$.price", 1, None)
    add_run(
        store,
        [outcome("GET /items/{id}") for _ in range(1000)]
        + [outcome("GET /items/{id}", Status.MISMATCHED, diffs=(new,))],
    )
    verdict = judge(store, config, now=later(store, 24))
    assert verdict.decision == HOLD
    assert [m.detail for m in verdict.missing] == ["new findings: 1 > 0"]
    row = next(c for c in verdict.criteria if c.name == "new findings")
    assert row.note == "`price`: present on legacy, absent on candidate"  # the finding's title in words


def test_findings_by_grade(store: Store, tmp_path: Path) -> None:
    config = plan(
        tmp_path,
        "[[rollout.step]]\nshare = 10\nmin_parity = 0\nmax_findings = { breaking = 0, behavioural = 5 }\n",
    )
    start_step(store, config, "1")
    status = Difference("status", "status", 400, 200)
    add_run(store, [outcome("POST /login", Status.MISMATCHED, diffs=(status,))])
    verdict = judge(store, config)
    rows = {c.name: (c.measured, c.passed) for c in verdict.criteria if c.name.startswith("findings")}
    assert rows == {"findings: breaking": (0, True), "findings: behavioural": (0, True)}
    config = plan(
        tmp_path, "[[rollout.step]]\nshare = 10\nmin_parity = 0\nmax_findings = { accepts-refused = 0 }\n"
    )
    assert judge(store, config).missing[-1].detail == "findings: accepts-refused: 1 > 0"


def test_verdicts_are_kept_when_they_change_or_grow_old(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1")
    window(store, 100)
    held = judge(store, config)
    assert record(store, held) is not None
    assert record(store, held) is None  # the same decision again, moments later
    assert record(store, held, every=0) is not None
    advanced = judge(store, config, now=later(store, 25))
    assert record(store, advanced) is not None
    checks = store.rollout_checks()
    assert [c.decision for c in checks] == [HOLD, HOLD, ADVANCE]
    assert checks[-1].verdict["headline"] == advanced.headline


def test_a_running_window_is_left_out_and_said(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1")
    add_run(store, [outcome("GET /items/{id}")], status="running")
    verdict = judge(store, config)
    assert verdict.running and not verdict.runs
    assert any("1 still running" in m.detail for m in verdict.missing)


def test_the_step_of_a_plan_that_changed_is_named(store: Store, tmp_path: Path) -> None:
    start_step(store, plan(tmp_path), "4")
    with pytest.raises(ConfigError, match=r"step 4 \(100%\) began, but \[rollout\] now lists 1 step"):
        judge(store, plan(tmp_path, "[[rollout.step]]\nshare = 10\n"))


def test_json_names_every_part(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path)
    start_step(store, config, "1", started=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat())
    window(store, 10)
    data = judge(store, config).to_json()
    assert data["decision"] == "hold" and data["exit_status"] == 75
    assert data["step"]["number"] == 1 and data["next"] == {"number": 2, "label": "25%", "share": 25.0}
    assert {m["what"] for m in data["missing"]} == {"time", "samples"}
    assert data["evidence"]["exchanges"] == 10 and data["canary"] is None
    assert SEED  # the plan the test used


def _log(tmp_path: Path, requests: list[Any], at: dt.datetime) -> Path:
    path = tmp_path / "split.json"
    lines = [
        {
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "ms": r.ms,
            "cohort": r.cohort,
            "time": at.isoformat(),
        }
        for r in requests
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


COHORTS = '[rollout.cohorts]\nby = "cohort"\nlegacy = ["legacy"]\ncandidate = ["candidate"]\n'


def test_cohorts_alone_can_decide_a_step(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path, SEED + COHORTS)
    start_step(store, config, "1", started=(dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat())
    now = dt.datetime.now(dt.UTC)
    alike = judge(store, config, logs=[_log(tmp_path, cohorts(5), now)])
    assert alike.decision == ADVANCE and alike.canary is not None and alike.canary.verdict == "pass"
    assert alike.exchanges == 2000 and alike.cohort_requests == 20_000 and not alike.runs
    small = judge(store, config, logs=[_log(tmp_path, cohorts(5, candidates=300), now)])
    assert small.decision == HOLD
    assert [m.what for m in small.missing] == ["samples"]
    assert small.missing[0].detail.startswith("cohorts, error rate: ")
    assert "too small to see +0.5 points: needs ~1," in small.missing[0].detail


def test_a_failing_cohort_rolls_back_on_its_recent_period(store: Store, tmp_path: Path) -> None:
    config = plan(tmp_path, SEED + COHORTS)
    start_step(store, config, "1", started=(dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat())
    now = dt.datetime.now(dt.UTC)
    path = _log(tmp_path, cohorts(6, candidates=1000, errors=8.0), now - dt.timedelta(minutes=5))
    verdict = judge(store, config, logs=[path], now=now)
    assert verdict.decision == ROLLBACK
    assert {f.where for f in verdict.fired} == {
        "the cohorts' logs since the step began",
        "the cohorts' logs of the last 15m",
    }


def test_a_finished_windows_point_is_read_once(store: Store, tmp_path: Path) -> None:
    from paritycheck.rollout import window_point

    run_id = window(store, 50, bad=5)
    first = window_point(store, store.run(run_id))
    kept = store.run(run_id).meta["rollout_window"]
    assert kept["errors"] == [0, 55, 5, 55] and kept["judged"] == 55
    store.update_meta(run_id, {"rollout_window": {**kept, "matched": 1}})  # what is kept is what is read
    assert window_point(store, store.run(run_id)).matched == 1 != first.matched
    time.sleep(0.002)  # ends are stored to the millisecond: a resumed run ends in a later one
    store.reopen_run(run_id)
    store.finish_run(run_id, status="complete")  # a new end: read anew
    assert window_point(store, store.run(run_id)) == dataclasses.replace(first, ended=store.run(run_id).ended)
