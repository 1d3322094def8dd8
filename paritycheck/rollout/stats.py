"""The tests a canary judge needs, on plain lists: Mann-Whitney U, two proportions, Holm's correction.

Written out rather than imported: each is a few lines of arithmetic, and SciPy (some 40 MB) would be a
runtime dependency for them alone. ``tests/rollout/test_canary_stats.py`` checks every one against
SciPy's implementation on generated samples (SciPy is a test dependency only).

- :func:`mann_whitney` is the rank test Kayenta's judge uses for each metric: it asks whether one
  cohort's values tend to be larger than the other's, with no assumption about their distribution
  (latencies are skewed and have long tails). Two-sided, normal approximation with the tie correction
  and continuity correction, as SciPy's ``method="asymptotic"``.
- :func:`fisher_exact` compares two error rates exactly (two-sided, as SciPy's): errors are rare, and the
  normal approximation of a z test calls 1 error in 40 requests against 0 in 350 significant.
- :func:`two_proportions` is that z test, kept for large counts in the docs' worked examples.
- :func:`wilson` bounds one proportion and :func:`difference_lower` the difference of two (Newcombe's
  hybrid score interval): a rollout's triggers fire only when such a bound is past their limit.
- :func:`holm` adjusts a family of p-values (every endpoint and metric judged at once), so that twenty
  endpoints do not give twenty chances of a false alarm.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

__all__ = [
    "RankTest",
    "difference_lower",
    "fisher_exact",
    "holm",
    "mann_whitney",
    "normal_sf",
    "two_proportions",
    "wilson",
    "z_for",
]


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class RankTest:
    """Mann-Whitney U of ``x`` against ``y``: U of ``x``, the z score and the two-sided p-value.

    ``effect`` is the common-language effect size P(x > y) + P(x = y) / 2: 0.5 when neither tends to be
    larger, 1.0 when every ``x`` exceeds every ``y``.
    """

    u: float
    z: float
    p: float
    effect: float


def _u_statistic(x: Sequence[float], y: Sequence[float]) -> float:
    """U of ``x``: the pairs where an ``x`` exceeds a ``y``, ties counted half.

    ``y`` is sorted once and each ``x`` placed in it by bisection, so a small cohort against a large one
    costs O((n1 + n2) log n2) with the loop over the smaller side only.
    """
    if len(x) > len(y):
        return len(x) * len(y) - _u_statistic(y, x)
    ordered = sorted(y)
    u = 0.0
    for v in x:
        below = bisect_left(ordered, v)
        u += below + (bisect_right(ordered, v, below) - below) / 2.0
    return u


def _tie_term(x: Sequence[float], y: Sequence[float]) -> float:
    """sum(t^3 - t) over the groups of equal values in both samples together (the tie correction)."""
    counts = Counter(x)
    counts.update(y)
    return float(sum(t * t * t - t for t in counts.values() if t > 1))


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """Two-sided Mann-Whitney U test of ``x`` against ``y`` (both non-empty)."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("mann_whitney needs two non-empty samples")
    u1 = _u_statistic(x, y)
    ties = _tie_term(x, y)
    mean = n1 * n2 / 2.0
    n = n1 + n2
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    effect = u1 / (n1 * n2)
    if var <= 0:  # every value equal: no evidence either way
        return RankTest(u1, 0.0, 1.0, effect)
    diff = u1 - mean
    z = (diff - math.copysign(0.5, diff)) / math.sqrt(var) if diff else 0.0
    return RankTest(u1, z, min(1.0, 2.0 * normal_sf(abs(z))), effect)


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """z score and two-sided p-value of ``k1/n1`` against ``k2/n2`` (pooled standard error)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("two_proportions needs two non-empty samples")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k1 / n1 - k2 / n2) / se
    return z, min(1.0, 2.0 * normal_sf(abs(z)))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on ``k1`` of ``n1`` against ``k2`` of ``n2``.

    The sum of the probabilities, under the hypergeometric law of the table's margins, of every table
    at most as likely as the one observed (with SciPy's relative tolerance for ties).
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("fisher_exact needs two non-empty samples")
    total, events = n1 + n2, k1 + k2
    denom = _log_choose(total, n1)

    def prob(x: int) -> float:
        return math.exp(_log_choose(events, x) + _log_choose(total - events, n1 - x) - denom)

    observed = prob(k1)
    lo, hi = max(0, n1 - (total - events)), min(n1, events)
    p = sum(q for x in range(lo, hi + 1) if (q := prob(x)) <= observed * (1 + 1e-7))
    return min(1.0, p)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (each compared with alpha as it is)."""
    m = len(pvalues)
    order = sorted(range(m), key=pvalues.__getitem__)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def z_for(confidence: float) -> float:
    """The one-sided normal quantile of ``confidence`` (1.645 for 0.95)."""
    return NormalDist().inv_cdf(confidence)


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score bounds of the proportion ``k / n`` (each one-sided at the level ``z`` stands for)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    scale = 1 + z2 / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def difference_lower(k1: int, n1: int, k2: int, n2: int, z: float) -> float:
    """Lower bound of ``k1/n1 - k2/n2`` (Newcombe's hybrid score interval, from the Wilson bounds)."""
    p1, p2 = k1 / n1, k2 / n2
    low1, _ = wilson(k1, n1, z)
    _, high2 = wilson(k2, n2, z)
    return p1 - p2 - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
