"""Store: the results store of runs, exchanges, differences and contract checks.

Versioned migrations, a batched single writer (in a child process on long runs), and the queries that
the summary, reports, gate and history read. SQLite by default; PostgreSQL for a ``postgresql://`` DSN,
through a thin adapter (postgres.py) that runs the same SQL.
"""

from __future__ import annotations

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
from paritycheck.store.shards import describe_shards, shard_progress
from paritycheck.store.sqlite import BATCH, Store
from paritycheck.store.writer import FINISHED, RUNNING

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
    "RunInfo",
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
