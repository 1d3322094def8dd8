"""Store: the SQLite store of runs, exchanges, differences and contract checks.

Versioned migrations, a batched single writer (in a child process on long runs), and the queries that
the summary, reports, gate and history read.
"""

from __future__ import annotations

from paritycheck.store.liveness import HEARTBEAT_SECONDS, STALE_SECONDS, Heartbeat, reap_stale
from paritycheck.store.records import (
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
from paritycheck.store.sqlite import BATCH, Store
from paritycheck.store.writer import FINISHED, RUNNING

__all__ = [
    "BATCH",
    "FINISHED",
    "HEARTBEAT_SECONDS",
    "LEARNED",
    "RUNNING",
    "STALE_SECONDS",
    "VOLATILE",
    "ContractCheck",
    "DifferenceGroup",
    "Heartbeat",
    "NoisePath",
    "RunInfo",
    "Store",
    "StoredExchange",
    "StoredReply",
    "StoredViolation",
    "reap_stale",
    "redact_value",
    "stored_value",
]
