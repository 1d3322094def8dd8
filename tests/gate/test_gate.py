"""The gate: every threshold at its edge, endpoint rules, accepted differences, latency statistics."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from gatehelpers import add_run, base_latency, counts, open_store, outcome, timed
from rich.console import Console

from paritycheck.config import GateConfig, GateEndpointRule
from paritycheck.errors import ExitStatus, StoreError
from paritycheck.gate import (
    FAIL,
    INCONCLUSIVE,
    NOT_JUDGED,
    PASS,
    Acceptance,
    Criterion,
    GateResult,
    KnownDifferences,
    evaluate,
    record,
)
from paritycheck.models import Difference, Status
from paritycheck.report import gate_markdown, print_gate
from paritycheck.store import Store

TODAY = dt.date(2025, 6, 1)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with open_store(tmp_path) as s:
        yield s  # type: ignore[misc]


def find(result: GateResult, name: str, endpoint: str | None = None) -> Criterion:
    (row,) = [c for c in result.criteria if c.name == name and c.endpoint == endpoint]
    return row


# --- parity, failed


@pytest.mark.parametrize(("mismatched", "passes"), [(1, True), (2, False)])
def test_parity_at_the_threshold(store: Store, mismatched: int, passes: bool) -> None:
    run = add_run(store, counts("GET /a", matched=1000 - mismatched, mismatched=mismatched, skipped=5))
    result = evaluate(store, run, GateConfig(min_parity=99.9))
    parity = find(result, "parity")
    assert parity.measured == pytest.approx(100 - mismatched / 10)
    assert parity.passed is passes and result.passed is passes
    assert "of 1,000" in parity.note  # skipped exchanges are not judged
    assert result.exit_status == (ExitStatus.OK if passes else ExitStatus.DIFFERENCES)


@pytest.mark.parametrize(("failed", "passes"), [(1, True), (2, False)])
def test_failed_at_the_threshold(store: Store, failed: int, passes: bool) -> None:
    run = add_run(store, counts("GET /a", matched=1000 - failed, failed=failed))
    result = evaluate(store, run, GateConfig(min_parity=99.0, max_failed=0.1))
    assert find(result, "failed").measured == pytest.approx(failed / 10)
    assert find(result, "failed").passed is passes
    assert find(result, "parity").passed  # 99.8% >= 99.0
    assert result.passed is passes


def test_a_run_with_nothing_replayed_fails(store: Store) -> None:
    run = add_run(store, counts("POST /a", skipped=10))
    result = evaluate(store, run, GateConfig())
    assert not result.passed
    assert "nothing was replayed" in find(result, "parity").note


def test_an_unfinished_run_fails(store: Store) -> None:
    run = add_run(store, counts("GET /a", matched=100), status="interrupted")
    result = evaluate(store, run, GateConfig())
    assert [c.name for c in result.failures] == ["run complete"]
    assert "interrupted" in result.failures[0].note


def test_unknown_run_is_a_store_error(store: Store) -> None:
    add_run(store, counts("GET /a", matched=1))
    with pytest.raises(StoreError, match="no run 7"):
        evaluate(store, 7, GateConfig())


# --- endpoint rules


def test_stricter_rule_fails_one_endpoint_and_leaves_the_run_figure_to_the_others(store: Store) -> None:
    run = add_run(
        store,
        counts("POST /api/v1/auth/login", matched=999, mismatched=1)
        + counts("GET /api/v1/kpis", matched=500),
    )
    gate = GateConfig(min_parity=99.0, endpoint=(GateEndpointRule(match="* /api/v1/auth/*", min_parity=100),))
    result = evaluate(store, run, gate)
    auth = find(result, "parity", "POST /api/v1/auth/login")
    assert auth.state == FAIL and auth.threshold == 100
    run_parity = find(result, "parity")
    assert run_parity.measured == 100.0 and "1 endpoint(s) judged by their own rule" in run_parity.note
    assert [c.endpoint for c in result.failures] == ["POST /api/v1/auth/login"]


def test_looser_rule_lets_one_endpoint_pass(store: Store) -> None:
    run = add_run(
        store, counts("GET /legacy-report", matched=95, mismatched=5) + counts("GET /a", matched=100)
    )
    gate = GateConfig(endpoint=(GateEndpointRule(match="GET /legacy-report", min_parity=90),))
    assert evaluate(store, run, gate).passed
    assert not evaluate(store, run, GateConfig()).passed


def test_first_matching_rule_wins_per_criterion(store: Store) -> None:
    run = add_run(store, counts("GET /api/v1/auth/me", matched=50, failed=50))
    gate = GateConfig(
        endpoint=(
            GateEndpointRule(match="GET /api/v1/auth/me", max_failed=60),
            GateEndpointRule(match="* /api/**", max_failed=0, min_parity=10),
        )
    )
    result = evaluate(store, run, gate)
    assert find(result, "failed", "GET /api/v1/auth/me").threshold == 60
    assert find(result, "parity", "GET /api/v1/auth/me").threshold == 10
    assert result.passed


# --- latency edges


@pytest.mark.parametrize(("candidate_ms", "state"), [(110.0, PASS), (111.0, FAIL)])
def test_p95_ratio_at_the_threshold(store: Store, candidate_ms: float, state: str) -> None:
    run = add_run(store, timed("GET /a", [100.0] * 30, [candidate_ms] * 30))
    result = evaluate(store, run, GateConfig(max_p95_ratio=1.10))
    ratio = find(result, "p95 ratio", "GET /a")
    assert ratio.measured == pytest.approx(candidate_ms / 100)
    assert ratio.interval == (pytest.approx(candidate_ms / 100), pytest.approx(candidate_ms / 100))
    assert ratio.state == state


@pytest.mark.parametrize(("candidate_ms", "state"), [(500.0, PASS), (501.0, FAIL)])
def test_absolute_p95_at_the_threshold(store: Store, candidate_ms: float, state: str) -> None:
    run = add_run(store, timed("GET /a", [candidate_ms] * 40, [candidate_ms] * 40))
    result = evaluate(store, run, GateConfig(max_p95_ms=500))
    assert find(result, "p95", "GET /a").state == state
    assert find(result, "p95 ratio", "GET /a").state == PASS


@pytest.mark.parametrize("n", [29, 30])
def test_min_samples_edge(store: Store, n: int) -> None:
    run = add_run(store, timed("GET /a", [100.0] * n, [300.0] * n))
    result = evaluate(store, run, GateConfig(min_samples=30))
    if n < 30:
        row = find(result, "latency", "GET /a")
        assert row.state == NOT_JUDGED and row.passed
        assert row.note == "not judged on latency (n=29 < 30)"
        assert result.passed
    else:
        assert find(result, "p95 ratio", "GET /a").state == FAIL
        assert not result.passed


def test_interval_straddling_the_threshold_is_inconclusive_and_passes(store: Store) -> None:
    rng = random.Random(3)
    legacy = base_latency(rng, 40)
    candidate = [x * 1.10 for x in base_latency(rng, 40)]  # true ratio right at the threshold
    run = add_run(store, timed("GET /a", legacy, candidate))
    row = find(evaluate(store, run, GateConfig()), "p95 ratio", "GET /a")
    assert row.interval is not None and row.interval[0] <= 1.10 < row.interval[1]
    assert row.state == INCONCLUSIVE and row.passed
    assert "inconclusive" in row.note


# --- acceptance cases

ENDPOINTS = [f"GET /api/v1/e{i}" for i in range(10)]


@pytest.mark.parametrize("seed", range(5))
def test_a_40ms_regression_on_one_endpoint_of_ten_fails(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    slow = ENDPOINTS[seed]
    outcomes = []
    for endpoint in ENDPOINTS:
        legacy, candidate = base_latency(rng, 200), base_latency(rng, 200)
        if endpoint == slow:
            candidate = [x + 40.0 for x in candidate]
        outcomes += timed(endpoint, legacy, candidate)
    result = evaluate(store, add_run(store, outcomes), GateConfig())
    assert not result.passed
    assert [(c.name, c.endpoint) for c in result.failures] == [("p95 ratio", slow)]
    row = result.failures[0]
    assert row.interval is not None and row.interval[0] > 1.10
    assert row.interval[0] <= row.measured <= row.interval[1]  # type: ignore[operator]


@pytest.mark.parametrize("seed", range(5))
def test_pure_jitter_of_40ms_on_both_sides_passes(store: Store, seed: int) -> None:
    rng = random.Random(100 + seed)
    outcomes = []
    for endpoint in ENDPOINTS:
        legacy = [x + rng.uniform(0, 40) for x in base_latency(rng, 200)]
        candidate = [x + rng.uniform(0, 40) for x in base_latency(rng, 200)]
        outcomes += timed(endpoint, legacy, candidate)
    result = evaluate(store, add_run(store, outcomes), GateConfig())
    assert result.passed, [(c.endpoint, c.measured, c.interval) for c in result.failures]
    assert all(c.state in (PASS, INCONCLUSIVE) for c in result.criteria if c.name == "p95 ratio")


@pytest.mark.parametrize("seed", range(5))
def test_small_noisy_healthy_sample_does_not_fail(store: Store, seed: int) -> None:
    rng = random.Random(200 + seed)
    legacy = [rng.lognormvariate(4, 0.8) for _ in range(30)]
    candidate = [rng.lognormvariate(4, 0.8) for _ in range(30)]
    result = evaluate(store, add_run(store, timed("GET /a", legacy, candidate)), GateConfig())
    assert result.passed


def test_intervals_are_reproducible(store: Store) -> None:
    rng = random.Random(9)
    run = add_run(store, timed("GET /a", base_latency(rng, 100), base_latency(rng, 100)))
    first, second = evaluate(store, run, GateConfig()), evaluate(store, run, GateConfig())
    assert first == second


# --- accepted differences


def accepted(until: dt.date, *, path: str = "$.items[*].price", index: int = 0) -> Acceptance:
    return Acceptance("GET /api/*", "changed", path, "rounding, PORT-12", "alice", until, index)


def rounding_run(store: Store, *, extra: bool = False) -> int:
    price = Difference("changed", "$.items[3].price", 1.005, 1.0)
    other = Difference("added", "$.debug", None, True)
    diffs = (price, other) if extra else (price,)
    return add_run(
        store,
        counts("GET /api/items", matched=90)
        + [outcome("GET /api/items", Status.MISMATCHED, diffs=diffs) for _ in range(10)],
    )


def test_accepted_differences_are_shown_and_do_not_fail(store: Store) -> None:
    run = rounding_run(store)
    known = KnownDifferences((accepted(TODAY),), "known-differences.toml")
    result = evaluate(store, run, GateConfig(), known=known, today=TODAY)
    assert result.passed
    assert find(result, "parity").measured == 100.0
    assert "10 with only accepted differences count as matched" in find(result, "parity").note
    (group,) = result.accepted
    assert (group.path, group.count, group.expired) == ("$.items[*].price", 10, False)  # grouped by shape
    assert not evaluate(store, run, GateConfig(), today=TODAY).passed  # without the file


def test_exchange_with_an_unaccepted_difference_still_mismatches(store: Store) -> None:
    run = rounding_run(store, extra=True)
    known = KnownDifferences((accepted(TODAY),), "k.toml")
    result = evaluate(store, run, GateConfig(), known=known, today=TODAY)
    assert find(result, "parity").measured == 90.0 and not result.passed


def test_expired_acceptance_fails_with_a_message(store: Store) -> None:
    run = rounding_run(store)
    known = KnownDifferences((accepted(TODAY - dt.timedelta(days=1)),), "known-differences.toml")
    result = evaluate(store, run, GateConfig(), known=known, today=TODAY)
    assert not result.passed
    expired = find(result, "accepted difference expired")
    assert not expired.passed
    assert "known-differences.toml: accepted[0]" in expired.note and "expired on 2025-05-31" in expired.note
    assert not find(result, "parity").passed  # its differences count again
    assert result.accepted[0].expired
    # The last day of an acceptance still counts.
    assert evaluate(store, run, GateConfig(), known=known, today=TODAY - dt.timedelta(days=1)).passed


def test_expired_acceptance_that_matches_nothing_is_a_note(store: Store) -> None:
    run = add_run(store, counts("GET /api/items", matched=100))
    known = KnownDifferences((accepted(TODAY - dt.timedelta(days=30)),), "k.toml")
    result = evaluate(store, run, GateConfig(), known=known, today=TODAY)
    assert result.passed
    assert len(result.notes) == 1 and "matches nothing in this run: remove it" in result.notes[0]


# --- consecutive passes


def test_min_consecutive_passes(store: Store) -> None:
    good = lambda: counts("GET /a", matched=100)  # noqa: E731
    bad = lambda: counts("GET /a", matched=90, mismatched=10)  # noqa: E731
    for outcomes in (good(), bad(), good(), good()):
        last = add_run(store, outcomes)
    for need, passes, streak in ((2, True, 2), (3, False, 2), (1, True, 1)):
        result = evaluate(store, last, GateConfig(min_consecutive_passes=need))
        row = find(result, "consecutive passes")
        assert (row.measured, row.passed, result.passed) == (streak, passes, passes)
    failing = add_run(store, bad())
    row = find(evaluate(store, failing, GateConfig(min_consecutive_passes=1)), "consecutive passes")
    assert row.measured == 0 and not row.passed
    # like with like: a passing run of another capture neither counts nor breaks the streak
    other = add_run(store, good(), captures=[{"name": "other.har", "digest": "ff" * 32}])
    assert (
        find(evaluate(store, other, GateConfig(min_consecutive_passes=2)), "consecutive passes").measured == 1
    )
    last = add_run(store, good())
    assert (
        find(evaluate(store, last, GateConfig(min_consecutive_passes=3)), "consecutive passes").measured == 1
    )


# --- output


def test_json_markdown_and_terminal_agree(store: Store) -> None:
    rng = random.Random(1)
    outcomes = timed("GET /slow", base_latency(rng, 100), [x + 40 for x in base_latency(rng, 100)])
    outcomes += timed("GET /few", [10.0] * 5, [10.0] * 5)
    result = evaluate(store, add_run(store, outcomes), GateConfig())
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["verdict"] == "fail" and data["passed"] is False
    assert len(data["criteria"]) == len(result.criteria)
    ratio = next(c for c in data["criteria"] if c["name"] == "p95 ratio")
    assert ratio["endpoint"] == "GET /slow" and ratio["state"] == "fail"
    assert ratio["interval"][0] <= ratio["measured"] <= ratio["interval"][1]
    assert data["method"]["confidence"] == 0.95

    console = Console(width=200, color_system=None, record=True)
    print_gate(result, console)
    text = console.export_text()
    assert "gate: FAIL" in text and "p95 ratio (GET /slow)" in text
    assert "not judged on latency (n=5 < 30)" in text

    md = gate_markdown(result)
    assert md.startswith("## Gate: FAIL")
    assert "| p95 ratio | GET /slow |" in md and "**FAIL**" in md


def test_record_keeps_the_verdict_with_the_run(store: Store) -> None:
    run = add_run(store, counts("GET /a", matched=9, mismatched=1))
    result = evaluate(store, run, GateConfig())
    record(store, result)
    assert store.run(run).meta["gate"] == {"verdict": "fail", "failed": ["parity"]}
