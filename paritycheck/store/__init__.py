"""Store: the results store of runs, exchanges, differences and contract checks.

Versioned migrations, a batched single writer (in a child process on long runs), and the queries that
the summary, reports, gate and history read. SQLite by default; PostgreSQL for a ``postgresql://`` DSN,
through a thin adapter (postgres.py) that runs the same SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.store.dsn import display_location, is_dsn
    from paritycheck.store.findings import DifferenceRow, StoredFinding
    from paritycheck.store.liveness import HEARTBEAT_SECONDS, STALE_SECONDS, Heartbeat, reap_stale
    from paritycheck.store.records import (
        CLOCK,
        ELSEWHERE,
        LEARNED,
        VOLATILE,
        ContractCheck,
        DifferenceGroup,
        NoisePath,
        RunInfo,
        StoredExchange,
        StoredReply,
        StoredViolation,
        redact_value,
        stored_value,
    )
    from paritycheck.store.rollout import RolloutCheck, SideErrors, StepRecord
    from paritycheck.store.shards import describe_shards, shard_progress
    from paritycheck.store.sqlite import BATCH, Store
    from paritycheck.store.writer import FINISHED, RUNNING

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "display_location": "dsn",
        "is_dsn": "dsn",
        "DifferenceRow": "findings",
        "StoredFinding": "findings",
        "HEARTBEAT_SECONDS": "liveness",
        "STALE_SECONDS": "liveness",
        "Heartbeat": "liveness",
        "reap_stale": "liveness",
        "CLOCK": "records",
        "ELSEWHERE": "records",
        "LEARNED": "records",
        "VOLATILE": "records",
        "ContractCheck": "records",
        "DifferenceGroup": "records",
        "NoisePath": "records",
        "RunInfo": "records",
        "StoredExchange": "records",
        "StoredReply": "records",
        "StoredViolation": "records",
        "redact_value": "records",
        "stored_value": "records",
        "RolloutCheck": "rollout",
        "SideErrors": "rollout",
        "StepRecord": "rollout",
        "describe_shards": "shards",
        "shard_progress": "shards",
        "BATCH": "sqlite",
        "Store": "sqlite",
        "FINISHED": "writer",
        "RUNNING": "writer",
    },
)

__all__ = [
    "BATCH",
    "CLOCK",
    "ELSEWHERE",
    "FINISHED",
    "HEARTBEAT_SECONDS",
    "LEARNED",
    "RUNNING",
    "STALE_SECONDS",
    "VOLATILE",
    "ContractCheck",
    "DifferenceGroup",
    "DifferenceRow",
    "Heartbeat",
    "NoisePath",
    "RolloutCheck",
    "RunInfo",
    "SideErrors",
    "StepRecord",
    "Store",
    "StoredExchange",
    "StoredFinding",
    "StoredReply",
    "StoredViolation",
    "describe_shards",
    "display_location",
    "is_dsn",
    "reap_stale",
    "redact_value",
    "shard_progress",
    "stored_value",
]
