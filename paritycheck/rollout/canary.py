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
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritycheck.capture import learn_templates
from paritycheck.common.endpoints import EndpointMatcher
from paritycheck.config_rollout import CanaryConfig
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


#: What a difference must reach to count (docs/rollout.md): ``[rollout.canary]`` itself.
CanaryLimits = CanaryConfig


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

    def to_json(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) or math.isinf(x) else round(x, 6)

        return {
            "endpoint": self.endpoint,
            "metric": self.name,
            "unit": self.unit,
            "legacy": {"n": self.legacy_n, "value": num(self.legacy)},
            "candidate": {"n": self.candidate_n, "value": num(self.candidate)},
            "p": num(self.p),
            "p_adjusted": num(self.p_adjusted),
            "verdict": self.verdict,
            "note": self.note,
        }


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

    def to_json(self, *, max_metrics: int = 300) -> dict[str, Any]:
        """The analysis as JSON: the verdict, the cohorts' sizes, the limits and (at most ``max_metrics``,
        pooled and high ones first) every metric judged."""
        shown = sorted(self.metrics, key=lambda m: (m.endpoint != ALL, m.verdict != HIGH))[:max_metrics]
        return {
            "verdict": self.verdict,
            "legacy_requests": self.legacy_requests,
            "candidate_requests": self.candidate_requests,
            "candidate_share": round(self.candidate_share, 6),
            "limits": dataclasses.asdict(self.limits),
            "metrics": [m.to_json() for m in shown],
            "metrics_left_out": len(self.metrics) - len(shown),
        }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated between the closest ranks (as the gate's)."""
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
    legacy, candidate = sorted(legacy), sorted(candidate)
    l95 = _quantile(legacy, 0.95)
    slower = cn - bisect_right(candidate, l95)
    over = ln - bisect_right(legacy, l95)
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


@dataclass(slots=True)
class _Tally:
    """One cohort's requests to one path (or endpoint): how many, how many failed, the times answered."""

    n: int = 0
    errors: int = 0
    times: list[float] = field(default_factory=list)

    def merge(self, other: _Tally) -> None:
        self.n += other.n
        self.errors += other.errors
        self.times += other.times


Namer = Callable[[str, str], str]


def _tally(requests: Iterable[LogRequest]) -> dict[tuple[str, str, str], _Tally]:
    """Requests counted per (cohort, method, path): one dictionary look-up each, no naming yet."""
    paths: dict[tuple[str, str, str], _Tally] = {}
    for r in requests:
        key = (r.cohort, r.method, r.path)
        t = paths.get(key)
        if t is None:
            t = paths[key] = _Tally()
        t.n += 1
        if r.error:
            t.errors += 1
        elif r.ms is not None:
            t.times.append(r.ms)
    return paths


def _endpoints(
    paths: dict[tuple[str, str, str], _Tally], patterns: Sequence[str], name: Namer | None
) -> dict[tuple[str, str], _Tally]:
    """Paths named as the replay names them: configured patterns, else the template, and the slugs and
    usernames learned from these very requests named ``{param}`` (capture/templates.py)."""
    matcher = EndpointMatcher(patterns)
    namer = name or matcher.endpoint
    names = {(m, p): namer(m, p) for _, m, p in paths}
    counts: Counter[str] = Counter()
    for (_, m, p), t in paths.items():
        counts[names[m, p]] += t.n
    learned = learn_templates(counts, fixed=frozenset(matcher.fixed)) if name is None else {}
    merged: dict[tuple[str, str], _Tally] = {}
    for (cohort, m, p), t in paths.items():
        endpoint = names[m, p]
        key = (learned.get(endpoint, endpoint), cohort)
        into = merged.get(key)
        if into is None:
            merged[key] = _Tally(t.n, t.errors, list(t.times))
        else:
            into.merge(t)
    for (_, cohort), t in list(merged.items()):  # the pooled row, from the few endpoints' tallies
        into = merged.setdefault((ALL, cohort), _Tally())
        into.merge(t)
    return merged


def compare_cohorts(
    requests: Iterable[LogRequest],
    *,
    limits: CanaryLimits | None = None,
    patterns: Sequence[str] = (),
    name: Namer | None = None,
) -> CanaryResult:
    """Judge the candidate cohort against the legacy one, per endpoint and pooled.

    Endpoints are named as a replay names them: the ``[[endpoint]]`` ``patterns``, else the automatic
    template, with slug positions learned from the requests themselves; ``name(method, path)`` replaces
    all of that.
    """
    limits = limits or CanaryLimits()
    merged = _endpoints(_tally(requests), patterns, name)
    empty = _Tally()
    endpoints = sorted({e for e, _ in merged} - {ALL})
    rows: list[Metric] = []
    for endpoint in [ALL, *endpoints]:
        legacy, candidate = merged.get((endpoint, LEGACY), empty), merged.get((endpoint, CANDIDATE), empty)
        rows.append(_errors(endpoint, [legacy.errors, legacy.n], [candidate.errors, candidate.n], limits))
        rows += _latency(endpoint, legacy.times, candidate.times, limits)
    tested = [i for i, m in enumerate(rows) if m.p is not None]
    adjusted = dict(zip(tested, holm([rows[i].p or 0.0 for i in tested]), strict=True))
    sizes = {c: merged.get((ALL, c), empty).n for c in (LEGACY, CANDIDATE)}
    share = sizes[CANDIDATE] / max(1, sizes[CANDIDATE] + sizes[LEGACY])
    judged = tuple(_judge(m, adjusted.get(i), limits, share) for i, m in enumerate(rows))
    return CanaryResult(judged, sizes[LEGACY], sizes[CANDIDATE], limits)
