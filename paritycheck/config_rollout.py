"""``[rollout]``: the steps of a traffic shift, what each step demands, and what rolls it back.

Kept apart from :mod:`paritycheck.config` (which imports it and builds it with the same strict loader)
because it is a plan of its own: steps with a traffic share, a minimum time and number of exchanges and
the criteria to go on (the gate's, plus the error rate of each cohort and findings by grade), rollback
triggers judged at every step, and how the cohorts of split traffic are read from access logs
(docs/rollout.md)::

    [[rollout.step]]
    share = 10
    min_duration = "24h"
    min_exchanges = 1000
    max_error_rate = 0.1

    [rollout.rollback]
    max_error_rate = 5.0

Like the config, this module sits below every stage: it names no stage's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paritycheck.common.durations import parse_duration
from paritycheck.errors import ConfigError
from paritycheck.models import GRADES

__all__ = [
    "FINDING_GRADES",
    "CanaryConfig",
    "CohortsConfig",
    "RolloutConfig",
    "RolloutStep",
    "RolloutTriggers",
    "validate_rollout",
]

#: The grades a step may limit findings by (``max_findings``): the risk grades of models.GRADES.
FINDING_GRADES = GRADES


@dataclass(frozen=True, slots=True)
class RolloutStep:
    """One step: the traffic share, how long and on how much evidence it is held, its criteria.

    A criterion left unset (None) keeps ``[gate]``'s value; ``max_error_rate`` and
    ``max_error_increase`` are not judged unless set.
    """

    share: float = 0.0
    #: Shown in verdicts and the timeline; defaults to the share (``10%``).
    name: str = ""
    min_duration: str = "0s"
    #: Shadow exchanges compared plus candidate-cohort requests read from access logs.
    min_exchanges: int = 0
    min_parity: float | None = None
    max_failed: float | None = None
    max_p95_ratio: float | None = None
    max_p95_ms: float | None = None
    min_samples: int | None = None
    #: The candidate's error rate (5xx or no answer), % of its answers, in shadow runs and in its cohort.
    max_error_rate: float | None = None
    #: Percentage points the candidate's error rate may exceed the legacy's by.
    max_error_increase: float | None = None
    #: Findings allowed per grade (``{ breaking = 0, accepts-refused = 0 }``); a grade left out: any.
    max_findings: dict[str, int] = field(default_factory=dict)
    #: Findings not seen in any run before this step began ("no new difference").
    max_new_findings: int | None = None
    #: Judge the cohorts of the access logs (when there are any): a worse candidate cohort holds the step.
    canary: bool = True

    @property
    def label(self) -> str:
        return self.name or f"{self.share:g}%"

    @property
    def seconds(self) -> float:
        return parse_duration(self.min_duration) or 0.0


@dataclass(frozen=True, slots=True)
class RolloutTriggers:
    """Limits that fire at once at any step (``[rollout.rollback]`` rolls back, ``[rollout.page]`` pages).

    Each fires only on evidence: the one-sided confidence bound (``[gate] confidence``) of the rate
    measured in one window, or in the whole step, is past the limit; and only over ``min_requests``.
    """

    max_error_rate: float | None = None
    max_error_increase: float | None = None
    min_parity: float | None = None
    max_failed: float | None = None
    max_p95_ms: float | None = None
    max_p95_ratio: float | None = None
    min_requests: int = 20

    @property
    def empty(self) -> bool:
        limits = (
            "max_error_rate",
            "max_error_increase",
            "min_parity",
            "max_failed",
            "max_p95_ms",
            "max_p95_ratio",
        )
        return all(getattr(self, k) is None for k in limits)


@dataclass(frozen=True, slots=True)
class CohortsConfig:
    """``[rollout.cohorts]``: the access logs of split traffic and how a line's cohort is told."""

    logs: tuple[str, ...] = ()
    #: ``upstream``, ``cohort``, ``header:NAME`` or any key of the log line.
    by: str = "upstream"
    #: Glob patterns of the value that mark each cohort (``10.0.2.*:8080``, ``*candidate*``).
    legacy: tuple[str, ...] = ()
    candidate: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CanaryConfig:
    """``[rollout.canary]``: what a difference between the cohorts must reach to count."""

    alpha: float = 0.05
    min_samples: int = 30
    #: Percentage points of error rate.
    min_error_increase: float = 0.5
    min_latency_ratio: float = 1.10
    min_latency_ms: float = 5.0


@dataclass(frozen=True, slots=True)
class RolloutConfig:
    step: tuple[RolloutStep, ...] = ()
    rollback: RolloutTriggers = field(default_factory=RolloutTriggers)
    page: RolloutTriggers = field(default_factory=RolloutTriggers)
    cohorts: CohortsConfig = field(default_factory=CohortsConfig)
    canary: CanaryConfig = field(default_factory=CanaryConfig)
    #: Triggers also judge the access logs' most recent period of this length.
    recent: str = "15m"

    @property
    def recent_seconds(self) -> float:
        return parse_duration(self.recent) or 900.0


def _range(source: str, key: str, value: float | None, low: float, high: float | None, eg: str) -> None:
    if value is not None and (value < low or (high is not None and value > high)):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{source}: {key} must be {span}, not {value:g}", hint=f"e.g. {eg}")


def _duration(source: str, key: str, text: str, eg: str) -> None:
    if parse_duration(text) is None:
        raise ConfigError(
            f"{source}: {key} {text!r} is not a duration", hint=f"e.g. {eg} (s, m, h, d or w: 1h30m)"
        )


def _criteria(source: str, key: str, c: RolloutStep | RolloutTriggers) -> None:
    _range(source, f"{key}.min_parity", c.min_parity, 0, 100, "min_parity = 99.9")
    _range(source, f"{key}.max_failed", c.max_failed, 0, 100, "max_failed = 0.1")
    _range(source, f"{key}.max_p95_ratio", c.max_p95_ratio, 0, None, "max_p95_ratio = 1.10")
    _range(source, f"{key}.max_p95_ms", c.max_p95_ms, 0, None, "max_p95_ms = 200")
    _range(source, f"{key}.max_error_rate", c.max_error_rate, 0, 100, "max_error_rate = 0.1")
    _range(source, f"{key}.max_error_increase", c.max_error_increase, 0, 100, "max_error_increase = 0.5")


def _step(source: str, i: int, step: RolloutStep, before: RolloutStep | None) -> None:
    key = f"rollout.step[{i}]"
    if not 0 < step.share <= 100:
        raise ConfigError(
            f"{source}: {key}.share must be more than 0 and at most 100 (% of traffic), not {step.share:g}",
            hint="e.g. share = 10",
        )
    if before is not None and step.share < before.share:
        raise ConfigError(
            f"{source}: {key}.share {step.share:g} is below the step before it ({before.share:g})",
            hint="list the steps in the order traffic moves to the candidate",
        )
    _duration(source, f"{key}.min_duration", step.min_duration, 'min_duration = "24h"')
    _range(source, f"{key}.min_exchanges", step.min_exchanges, 0, None, "min_exchanges = 1000")
    _range(source, f"{key}.min_samples", step.min_samples, 1, None, "min_samples = 30")
    _range(source, f"{key}.max_new_findings", step.max_new_findings, 0, None, "max_new_findings = 0")
    _criteria(source, key, step)
    for grade, limit in step.max_findings.items():
        if grade not in FINDING_GRADES:
            raise ConfigError(
                f"{source}: {key}.max_findings has no grade {grade!r}",
                hint=f"grades: {', '.join(FINDING_GRADES)}",
            )
        _range(source, f"{key}.max_findings.{grade}", limit, 0, None, f'max_findings = {{ "{grade}" = 0 }}')


def validate_rollout(rollout: RolloutConfig, source: str) -> None:
    """Ranges and shapes of ``[rollout]`` that its types do not say; a ConfigError naming the key."""
    labels: set[str] = set()
    for i, step in enumerate(rollout.step):
        _step(source, i, step, rollout.step[i - 1] if i else None)
        if step.label in labels:
            raise ConfigError(
                f"{source}: rollout.step[{i}] is named {step.label!r} like a step before it",
                hint="give each step its own name (or share)",
            )
        labels.add(step.label)
    for name in ("rollback", "page"):
        triggers: RolloutTriggers = getattr(rollout, name)
        _criteria(source, f"rollout.{name}", triggers)
        _range(source, f"rollout.{name}.min_requests", triggers.min_requests, 1, None, "min_requests = 20")
    _duration(source, "rollout.recent", rollout.recent, 'recent = "15m"')
    cohorts = rollout.cohorts
    if not cohorts.by.strip():
        raise ConfigError(f"{source}: rollout.cohorts.by is empty", hint='e.g. by = "upstream"')
    if cohorts.logs and not (cohorts.legacy and cohorts.candidate):
        raise ConfigError(
            f"{source}: rollout.cohorts needs legacy and candidate patterns to read its logs",
            hint='e.g. legacy = ["10.0.1.*"] and candidate = ["10.0.2.*"] (values of rollout.cohorts.by)',
        )
    c = rollout.canary
    _range(source, "rollout.canary.alpha", c.alpha, 1e-6, 0.5, "alpha = 0.05")
    _range(source, "rollout.canary.min_samples", c.min_samples, 2, None, "min_samples = 30")
    _range(source, "rollout.canary.min_error_increase", c.min_error_increase, 1e-6, 100, "0.5")
    _range(source, "rollout.canary.min_latency_ratio", c.min_latency_ratio, 1, None, "1.10")
    _range(source, "rollout.canary.min_latency_ms", c.min_latency_ms, 0, None, "5")
