"""Bootstrap intervals of p95 and of the p95 ratio."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.gate import percentile
from paritycheck.gate.stats import _gamma_drawer, _Resampler, compare_p95, p95, quantile

latencies = st.lists(st.floats(min_value=0.1, max_value=5000, allow_nan=False), min_size=1, max_size=200)


@given(latencies, st.floats(min_value=0, max_value=1))
def test_quantile_is_the_summary_percentile(values: list[float], q: float) -> None:
    assert quantile(sorted(values), q) == pytest.approx(percentile(values, q * 100))


@settings(max_examples=40, deadline=None)
@given(latencies, latencies, st.integers(0, 2**32))
def test_intervals_contain_no_impossible_values(
    legacy: list[float], candidate: list[float], seed: int
) -> None:
    l95, c95, ratio = compare_p95(legacy, candidate, resamples=200, seed=seed)
    assert min(legacy) <= l95.low <= l95.high <= max(legacy)
    assert min(candidate) <= c95.low <= c95.high <= max(candidate)
    assert l95.value == p95(legacy) and c95.value == p95(candidate)
    assert ratio.low <= ratio.high
    assert ratio.value == pytest.approx(c95.value / l95.value)


def test_same_seed_same_interval_and_other_seed_another() -> None:
    rng = random.Random(0)
    a = [rng.lognormvariate(4, 0.5) for _ in range(300)]
    b = [rng.lognormvariate(4, 0.5) for _ in range(300)]
    assert compare_p95(a, b, seed=1) == compare_p95(a, b, seed=1)
    assert compare_p95(a, b, seed=1)[2] != compare_p95(a, b, seed=2)[2]


def test_constant_samples_give_a_degenerate_interval() -> None:
    _, c95, ratio = compare_p95([100.0] * 50, [130.0] * 50)
    assert (c95.low, c95.value, c95.high) == (130.0, 130.0, 130.0)
    assert (ratio.low, ratio.high) == (pytest.approx(1.3), pytest.approx(1.3))


def test_resampling_shortcut_matches_a_naive_bootstrap() -> None:
    """The O(1) draw has the distribution of the p95 of n values drawn with replacement."""
    rng = random.Random(5)
    # n = 51: the p95 rank is 47.5, so both order statistics and the interpolation matter.
    values = [rng.lognormvariate(4, 0.6) for _ in range(51)]
    draws = 20000
    naive = [p95(rng.choices(values, k=len(values))) for _ in range(draws)]
    resampler, own_rng = _Resampler(values, 0.95), random.Random(11)
    fast = [resampler.draw(own_rng.random) for _ in range(draws)]
    se = math.sqrt((statistics.pvariance(naive) + statistics.pvariance(fast)) / draws)
    assert abs(statistics.mean(fast) - statistics.mean(naive)) < 4 * se
    assert statistics.pstdev(fast) == pytest.approx(statistics.pstdev(naive), rel=0.05)
    naive.sort()
    fast.sort()
    gap = statistics.median(b - a for a, b in itertools.pairwise(sorted(values)))
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert quantile(fast, q) == pytest.approx(quantile(naive, q), abs=2 * gap)


@given(st.integers(1, 10**6), st.integers(0, 2**32))
def test_gamma_draws_are_the_standard_librarys_from_the_same_uniforms(shape: int, seed: int) -> None:
    """Beta(k, n-k+1) is drawn as random.Random.betavariate draws it, from two gamma draws: ours must be
    the library's, value for value, so that a seed gives the intervals it always gave."""
    theirs, ours = random.Random(seed), random.Random(seed)
    draw = _gamma_drawer(shape)
    assert [draw(ours.random) for _ in range(50)] == [theirs.gammavariate(shape, 1.0) for _ in range(50)]
    assert ours.random() == theirs.random()  # and the same number of uniforms taken


def test_interval_narrows_with_more_samples() -> None:
    rng = random.Random(2)
    widths = []
    for n in (50, 500, 5000):
        a = [rng.lognormvariate(4, 0.5) for _ in range(n)]
        b = [rng.lognormvariate(4, 0.5) for _ in range(n)]
        ratio = compare_p95(a, b)[2]
        widths.append(ratio.high - ratio.low)
    assert widths[0] > widths[1] > widths[2]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        compare_p95([], [1.0])
    with pytest.raises(ValueError):
        compare_p95([1.0], [1.0], confidence=1.0)


def test_zero_legacy_latency_does_not_divide_by_zero() -> None:
    _, _, ratio = compare_p95([0.0] * 30, [0.0] * 30)
    assert ratio.value == 1.0
    _, _, ratio = compare_p95([0.0] * 30, [5.0] * 30)
    assert ratio.value == float("inf")
