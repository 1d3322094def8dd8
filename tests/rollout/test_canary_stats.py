"""The canary's tests checked against SciPy's, on generated samples (SciPy is a test oracle only)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.rollout.stats import fisher_exact, holm, mann_whitney


@pytest.fixture(scope="module")
def scipy_stats() -> Any:
    """SciPy, the oracle, imported by the worker that runs these tests only (~0.8 s at collection)."""
    return pytest.importorskip("scipy.stats")


# Latencies as a router logs them: milliseconds with few decimals, so ties happen.
latencies = st.lists(
    st.floats(min_value=0.0, max_value=500.0).map(lambda v: round(v, 1)), min_size=1, max_size=60
)


@settings(max_examples=60)
@given(latencies, latencies)
def test_mann_whitney_is_scipys_asymptotic_test(scipy_stats: Any, x: list[float], y: list[float]) -> None:
    ours = mann_whitney(x, y)
    theirs = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert ours.u == pytest.approx(theirs.statistic)
    if math.isnan(theirs.pvalue):  # every value equal: SciPy says nan, we say no evidence
        assert ours.p == 1.0
    else:
        assert ours.p == pytest.approx(theirs.pvalue, rel=1e-6, abs=1e-12)
    assert 0.0 <= ours.effect <= 1.0


counts = st.integers(min_value=1, max_value=400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=60)
@given(counts, counts)
def test_fisher_exact_is_scipys_two_sided_test(
    scipy_stats: Any, a: tuple[int, int], b: tuple[int, int]
) -> None:
    (k1, n1), (k2, n2) = a, b
    theirs = scipy_stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided").pvalue
    assert fisher_exact(k1, n1, k2, n2) == pytest.approx(theirs, rel=1e-6, abs=1e-12)


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_holm_matches_the_step_down_definition(pvalues: list[float]) -> None:
    adjusted = holm(pvalues)
    m = len(pvalues)
    order = sorted(range(m), key=pvalues.__getitem__)
    for rank, i in enumerate(order):
        # Holm: the largest of (m - j) * p_(j) over j <= rank, capped at 1; never below the raw p-value.
        expected = min(1.0, max((m - j) * pvalues[order[j]] for j in range(rank + 1)))
        assert adjusted[i] == pytest.approx(expected)
        assert adjusted[i] >= pvalues[i]
