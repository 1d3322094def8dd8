"""Gate: the maths over a stored run (summary, percentiles, bootstrap intervals), accepted differences,
run history (like with like: runs of the same traffic and rules, gate/lineage.py), and the rollout
gate's criteria and verdict, for one run or the runs of a period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

# Exports named like their own module load at once: importing the module would set the package's
# attribute to the module and hide them.
from paritycheck.gate.lineage import Lineage, lineage

if TYPE_CHECKING:
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
        evaluate_runs,
        format_value,
        record,
    )
    from paritycheck.gate.history import GroupKey, RunHistory, baseline_before, comparable_before, is_baseline
    from paritycheck.gate.history import history as run_history
    from paritycheck.gate.period import Period, parse_since, runs_since
    from paritycheck.gate.stats import compare_p95, seed_for
    from paritycheck.gate.stream_latency import StreamTimes, stream_times
    from paritycheck.gate.summary import (
        LiveSummary,
        RunSummary,
        latency_summary,
        parity,
        percentile,
        summarise,
    )

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "Acceptance": "accepted",
        "KnownDifferences": "accepted",
        "path_matches": "accepted",
        "FAIL": "criteria",
        "INCONCLUSIVE": "criteria",
        "NOT_JUDGED": "criteria",
        "PASS": "criteria",
        "RUN": "criteria",
        "Criterion": "criteria",
        "GateResult": "criteria",
        "evaluate": "criteria",
        "evaluate_runs": "criteria",
        "format_value": "criteria",
        "record": "criteria",
        "GroupKey": "history",
        "RunHistory": "history",
        "baseline_before": "history",
        "comparable_before": "history",
        "is_baseline": "history",
        "run_history": "history:history",
        "Period": "period",
        "parse_since": "period",
        "runs_since": "period",
        "compare_p95": "stats",
        "seed_for": "stats",
        "StreamTimes": "stream_latency",
        "stream_times": "stream_latency",
        "LiveSummary": "summary",
        "RunSummary": "summary",
        "latency_summary": "summary",
        "parity": "summary",
        "percentile": "summary",
        "summarise": "summary",
    },
)

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
    "Lineage",
    "LiveSummary",
    "Period",
    "RunHistory",
    "RunSummary",
    "StreamTimes",
    "baseline_before",
    "comparable_before",
    "compare_p95",
    "evaluate",
    "evaluate_runs",
    "format_value",
    "is_baseline",
    "latency_summary",
    "lineage",
    "parity",
    "parse_since",
    "path_matches",
    "percentile",
    "record",
    "run_history",
    "runs_since",
    "seed_for",
    "stream_times",
    "summarise",
]
