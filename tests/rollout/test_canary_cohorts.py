"""Canary analysis on synthetic cohorts of 10% (2,000 candidate requests) against 90% (18,000): A/A
passes, +20% latency and +1 point of errors are found. Each property is asserted over 20 or 5 fixed
seeds, at rates bench/canary.py measures over 100 trials (docs/rollout.md), never on one seed."""

from __future__ import annotations

from paritycheck.rollout import ALL, HIGH, NODATA, PASS, LogRequest, compare_cohorts
from tests.rollout.cohorts import LIMITS, cohorts


def _verdict(requests: list[LogRequest]) -> str:
    return compare_cohorts(requests, limits=LIMITS).verdict


def test_aa_at_10_against_90_passes() -> None:
    verdicts = [_verdict(cohorts(seed)) for seed in range(20)]
    assert verdicts.count(HIGH) <= 1  # 100 trials: see docs/rollout.md
    assert verdicts.count(NODATA) == 0  # 2,000 candidate requests are enough to judge +0.5 point
    result = compare_cohorts(cohorts(0), limits=LIMITS)
    assert (result.candidate_requests, result.legacy_requests) == (2000, 18000)
    endpoints = {m.endpoint for m in result.metrics} - {ALL}
    # Named as a replay names them: ids as {id}, each endpoint once.
    assert endpoints == {
        "GET /api/items/{id}", "GET /api/users/{id}/orders", "GET /api/search", "GET /api/health",
        "GET /api/articles/{id}",
    }  # fmt: skip


def test_20_percent_slower_is_found() -> None:
    found = [compare_cohorts(cohorts(100 + seed, slower=1.2), limits=LIMITS) for seed in range(5)]
    assert all(r.verdict == HIGH for r in found)
    pooled = {m.name: m.verdict for m in found[0].metrics if m.endpoint == ALL}
    assert pooled == {"error rate": PASS, "latency p50": HIGH, "latency p95": HIGH}


def test_one_point_more_errors_is_found() -> None:
    found = [compare_cohorts(cohorts(200 + seed, errors=1.0), limits=LIMITS) for seed in range(5)]
    high = [r for r in found if any(m.name == "error rate" and m.verdict == HIGH for m in r.metrics)]
    assert len(high) == 5
    rows = [next(m for m in r.metrics if m.endpoint == ALL and m.name == "error rate") for r in high]
    assert all(
        m.candidate is not None and m.legacy is not None and m.candidate - m.legacy >= 0.5 for m in rows
    )


def test_too_small_to_judge_says_how_many_are_needed() -> None:
    result = compare_cohorts(cohorts(7, candidates=300), limits=LIMITS)
    assert result.verdict == NODATA
    row = next(m for m in result.metrics if m.endpoint == ALL and m.name == "error rate")
    assert "too small to see +0.5 points: needs ~1," in row.note and "candidate requests" in row.note


def test_a_large_cohort_does_not_fail_on_a_tiny_difference() -> None:
    result = compare_cohorts(cohorts(9, candidates=8_000, share=0.5, slower=1.05), limits=LIMITS)
    p50 = next(m for m in result.metrics if m.endpoint == ALL and m.name == "latency p50")
    assert p50.p_adjusted is not None and p50.p_adjusted < 0.05  # real...
    assert p50.verdict == PASS and "under the minimum effect" in p50.note  # ...but too small to matter


def test_endpoints_are_named_with_patterns_and_learned_templates() -> None:
    from paritycheck.rollout import CANDIDATE, LEGACY

    users = [f"celeb_user{i}" for i in range(12)]
    requests = [
        LogRequest(cohort, "GET", path, 200, 10.0)
        for cohort in (LEGACY, CANDIDATE)
        for path in [*(f"/api/profiles/{u}" for u in users), "/api/items/7", "/api/items/8"]
    ]
    named = compare_cohorts(requests, patterns=["GET /api/items/{item}"])
    assert {m.endpoint for m in named.metrics} - {ALL} == {
        "GET /api/profiles/{param}",
        "GET /api/items/{item}",
    }
