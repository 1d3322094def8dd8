"""Split-traffic canary analysis: how the two cohorts of real users fare, endpoint by endpoint.

Shadow copies prove parity; once real users are split between the backends, the step is decided by how
each cohort fares. For every endpoint, and for all endpoints pooled, three metrics are judged in the
manner of Kayenta's judge (each metric: pass, high, low, or no data):

- **error rate** (5xx or no answer): Fisher's exact test of the two proportions;
- **latency**: a Mann-Whitney rank test (is the candidate's latency stochastically larger?);
- **latency tail**: the share of candidate requests slower than legacy's p95 (5% when they are alike),
  which catches a worse tail that a rank test on the whole distribution can miss (Fisher's test again).

A metric is ``high`` (the candidate is worse) only on evidence *and* a meaningful size: its p-value,
adjusted by Holm's method over every metric of every endpoint at once, is below ``alpha``, and the effect
is at least the configured minimum (``min_error_increase`` percentage points; ``min_latency_ratio`` and
``min_latency_ms`` together), so a large cohort never fails on 0.1 ms. Cohorts of 10% and 90% are
compared as they are: the tests take each cohort's own size. A cohort too small to show the minimum
effect with 80% power says so (``no data``, with the requests it would need) instead of passing.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from paritycheck.common.endpoints import template
from paritycheck.rollout.accesslog import CANDIDATE, LEGACY, LogRequest
from paritycheck.rollout.stats import fisher_exact, holm, mann_whitney

__all__ = [
    "ALL",
    "HIGH",
    "LOW",
    "NODATA",
    "PASS",
    "CanaryLimits",
    "CanaryResult",
    "Metric",
    "compare_cohorts",
]

PASS, HIGH, LOW, NODATA = "pass", "high", "low", "nodata"
#: The row that pools every endpoint.
ALL = "all endpoints"
_Z_POWER = 0.8416  # one-sided normal quantile of 80% power


@dataclass(frozen=True, slots=True)
class CanaryLimits:
    """What a difference must reach to count (docs/rollout.md)."""

    alpha: float = 0.05
    min_samples: int = 30
    #: Percentage points of error rate.
    min_error_increase: float = 0.5
    min_latency_ratio: float = 1.10
    min_latency_ms: float = 5.0


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of one endpoint: each cohort's size and value, the test, and the judgement."""

    endpoint: str
    name: str
    legacy_n: int
    candidate_n: int
    legacy: float | None
    candidate: float | None
    unit: str
    p: float | None = None
    p_adjusted: float | None = None
    verdict: str = NODATA
    note: str = ""


@dataclass(frozen=True, slots=True)
class CanaryResult:
    metrics: tuple[Metric, ...]
    legacy_requests: int
    candidate_requests: int
    limits: CanaryLimits = field(default_factory=CanaryLimits)

    @property
    def candidate_share(self) -> float:
        total = self.legacy_requests + self.candidate_requests
        return self.candidate_requests / total if total else 0.0

    @property
    def high(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.verdict == HIGH)

    @property
    def unjudged(self) -> tuple[Metric, ...]:
        """The pooled metrics that the cohorts are still too small to judge."""
        return tuple(m for m in self.metrics if m.endpoint == ALL and m.verdict == NODATA)

    @property
    def verdict(self) -> str:
        """``high`` on any metric that is; else ``nodata`` while a pooled metric cannot judge; else pass.

        A cohort too small to show the minimum error increase has not passed: it has not been judged.
        """
        if self.high:
            return HIGH
        return NODATA if not self.metrics or self.unjudged else PASS


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _needed(base: float, increase: float, share: float) -> int:
    """Candidate requests needed to see ``increase`` over error rate ``base`` with 80% power (alpha .05)."""
    p1 = min(1.0, base + increase)
    var = base * (1 - base) / ((1 - share) / share) + p1 * (1 - p1)
    return math.ceil(var * ((1.96 + _Z_POWER) / increase) ** 2) if increase > 0 else 0


def _errors(endpoint: str, legacy: list[int], candidate: list[int], limits: CanaryLimits) -> Metric:
    (lk, ln), (ck, cn) = legacy, candidate
    lr = 100.0 * lk / ln if ln else None
    cr = 100.0 * ck / cn if cn else None
    row = Metric(endpoint, "error rate", ln, cn, lr, cr, "%")
    if ln < limits.min_samples or cn < limits.min_samples:
        return dataclasses.replace(
            row, note=f"too small to judge: fewer than {limits.min_samples} requests in a cohort"
        )
    return dataclasses.replace(row, p=fisher_exact(ck, cn, lk, ln))


def _latency(
    endpoint: str, legacy: list[float], candidate: list[float], limits: CanaryLimits
) -> list[Metric]:
    ln, cn = len(legacy), len(candidate)
    if ln < limits.min_samples or cn < limits.min_samples:
        note = f"too small to judge: fewer than {limits.min_samples} timed requests in a cohort"
        return [
            Metric(endpoint, "latency p50", ln, cn, None, None, "ms", note=note),
            Metric(endpoint, "latency p95", ln, cn, None, None, "ms", note=note),
        ]
    test = mann_whitney(candidate, legacy)
    l95 = _quantile(legacy, 0.95)
    slower = sum(v > l95 for v in candidate)
    over = sum(v > l95 for v in legacy)
    tail_p = fisher_exact(slower, cn, over, ln)
    tail_p = tail_p if slower / cn > over / ln else 1.0  # only a heavier candidate tail is evidence
    return [
        Metric(
            endpoint, "latency p50", ln, cn, _quantile(legacy, 0.5), _quantile(candidate, 0.5), "ms", p=test.p
        ),
        Metric(endpoint, "latency p95", ln, cn, l95, _quantile(candidate, 0.95), "ms", p=tail_p),
    ]


def _judge(m: Metric, adjusted: float | None, limits: CanaryLimits, share: float) -> Metric:
    if m.p is None or adjusted is None or m.legacy is None or m.candidate is None:
        return dataclasses.replace(m, verdict=NODATA)
    significant = adjusted < limits.alpha
    if m.name == "error rate":
        delta = m.candidate - m.legacy
        big = abs(delta) >= limits.min_error_increase
        note = f"{delta:+.2f} points"
        if not significant:
            need = _needed(m.legacy / 100.0, limits.min_error_increase / 100.0, max(share, 1e-9))
            if m.candidate_n < need:
                see = f"+{limits.min_error_increase:g} points"
                note += f"; too small to see {see}: needs ~{need:,} candidate requests"
                return dataclasses.replace(m, p_adjusted=adjusted, verdict=NODATA, note=note)
    else:
        ratio = m.candidate / m.legacy if m.legacy > 0 else math.inf
        delta = m.candidate - m.legacy
        big = abs(delta) >= limits.min_latency_ms and (
            ratio >= limits.min_latency_ratio or ratio <= 1 / limits.min_latency_ratio
        )
        note = f"{ratio:.2f}× ({delta:+.1f} ms)"
    verdict = (HIGH if delta > 0 else LOW) if significant and big else PASS
    if significant and not big:
        note += "; real but under the minimum effect"
    return dataclasses.replace(m, p_adjusted=adjusted, verdict=verdict, note=note)


def compare_cohorts(
    requests: Iterable[LogRequest],
    *,
    limits: CanaryLimits | None = None,
    name: Callable[[str, str], str] | None = None,
) -> CanaryResult:
    """Judge the candidate cohort against the legacy one; ``name(method, path)`` names endpoints."""
    limits = limits or CanaryLimits()
    name = name or (lambda method, path: f"{method} {template(path)}")
    errors: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    sizes: Counter[str] = Counter()
    for r in requests:
        endpoint = name(r.method, r.path)
        sizes[r.cohort] += 1
        for key in ((endpoint, r.cohort), (ALL, r.cohort)):
            tally = errors[key]
            tally[0] += r.error
            tally[1] += 1
            if r.ms is not None and not r.error:
                times[key].append(r.ms)
    endpoints = sorted({e for e, _ in errors} - {ALL})
    rows: list[Metric] = []
    for endpoint in [ALL, *endpoints]:
        rows.append(_errors(endpoint, errors[endpoint, LEGACY], errors[endpoint, CANDIDATE], limits))
        rows += _latency(endpoint, times[endpoint, LEGACY], times[endpoint, CANDIDATE], limits)
    tested = [i for i, m in enumerate(rows) if m.p is not None]
    adjusted = dict(zip(tested, holm([rows[i].p or 0.0 for i in tested]), strict=True))
    share = sizes[CANDIDATE] / max(1, sizes[CANDIDATE] + sizes[LEGACY])
    judged = tuple(_judge(m, adjusted.get(i), limits, share) for i, m in enumerate(rows))
    return CanaryResult(judged, sizes[LEGACY], sizes[CANDIDATE], limits)
