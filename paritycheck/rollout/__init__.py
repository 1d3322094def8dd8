"""The rollout: which step of a traffic shift the candidate is at, and whether it may go on.

``plan`` reads ``[rollout]`` against the store (``rollout start`` records that a step began);
``judge`` gives the verdict on the current step (advance, hold with what is missing, roll back with the
trigger that fired) from the step's runs and the cohorts of split traffic; ``triggers`` are the
rollback limits; ``controllers`` answer Argo Rollouts and Flagger from that verdict; ``timeline`` is
what the report draws. Split-traffic canary analysis compares the cohorts of real users that routers
already log (``accesslog`` reads them, ``canary`` judges them with the tests of ``stats``).
"""

from __future__ import annotations

from paritycheck.rollout.accesslog import CANDIDATE, LEGACY, CohortRule, LogRequest, LogTally, read_access_log
from paritycheck.rollout.canary import (
    ALL,
    HIGH,
    LOW,
    NODATA,
    PASS,
    CanaryLimits,
    CanaryResult,
    Metric,
    compare_cohorts,
)
from paritycheck.rollout.controllers import (
    FLAGGER_HOOKS,
    HookAnswer,
    argo_answer,
    check_payload,
    flagger_answer,
)
from paritycheck.rollout.evidence import StepPeriod, WindowPoint, step_runs, window_point
from paritycheck.rollout.judge import judge, record
from paritycheck.rollout.plan import current, find_step, start_step
from paritycheck.rollout.timeline import Timeline, timeline
from paritycheck.rollout.verdict import ADVANCE, DECISIONS, HOLD, ROLLBACK, Fired, Missing, RolloutVerdict

__all__ = [
    "ADVANCE",
    "ALL",
    "CANDIDATE",
    "DECISIONS",
    "FLAGGER_HOOKS",
    "HIGH",
    "HOLD",
    "LEGACY",
    "LOW",
    "NODATA",
    "PASS",
    "ROLLBACK",
    "CanaryLimits",
    "CanaryResult",
    "CohortRule",
    "Fired",
    "HookAnswer",
    "LogRequest",
    "LogTally",
    "Metric",
    "Missing",
    "RolloutVerdict",
    "StepPeriod",
    "Timeline",
    "WindowPoint",
    "argo_answer",
    "check_payload",
    "compare_cohorts",
    "current",
    "find_step",
    "flagger_answer",
    "judge",
    "read_access_log",
    "record",
    "start_step",
    "step_runs",
    "timeline",
    "window_point",
]
