"""Gate: the maths over a stored run (summary, percentiles, bootstrap intervals), accepted differences,
run history, and the rollout gate's criteria and verdict.
"""

from __future__ import annotations

from paritycheck.gate.accepted import Acceptance, KnownDifferences, path_matches
from paritycheck.gate.criteria import (
    FAIL,
    INCONCLUSIVE,
    NOT_JUDGED,
    PASS,
    RUN,
    Criterion,
    GateResult,
    evaluate,
    format_value,
    record,
)
from paritycheck.gate.history import GroupKey, RunHistory, baseline_before, is_baseline
from paritycheck.gate.history import history as run_history
from paritycheck.gate.summary import LiveSummary, RunSummary, latency_summary, parity, percentile, summarise

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "NOT_JUDGED",
    "PASS",
    "RUN",
    "Acceptance",
    "Criterion",
    "GateResult",
    "GroupKey",
    "KnownDifferences",
    "LiveSummary",
    "RunHistory",
    "RunSummary",
    "baseline_before",
    "evaluate",
    "format_value",
    "is_baseline",
    "latency_summary",
    "parity",
    "path_matches",
    "percentile",
    "record",
    "run_history",
    "summarise",
]
