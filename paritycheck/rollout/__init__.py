"""The rollout: which step of a traffic shift the candidate is at, and whether it may go on.

Split-traffic canary analysis compares the cohorts of real users that routers already log (``accesslog``
reads them, ``canary`` judges them with the tests of ``stats``).
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

__all__ = [
    "ALL",
    "CANDIDATE",
    "HIGH",
    "LEGACY",
    "LOW",
    "NODATA",
    "PASS",
    "CanaryLimits",
    "CanaryResult",
    "CohortRule",
    "LogRequest",
    "LogTally",
    "Metric",
    "compare_cohorts",
    "read_access_log",
]
