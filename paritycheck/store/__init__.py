"""Store: the SQLite store of runs, exchanges, differences and contract checks.

Versioned migrations, a batched single writer (in a child process on long runs), and the queries that
the summary, reports, gate and history read.
"""

from __future__ import annotations

from paritycheck.store.records import (
    CLOCK,
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
    "CLOCK",
    "FINISHED",
    "LEARNED",
    "RUNNING",
    "VOLATILE",
    "ContractCheck",
    "DifferenceGroup",
    "NoisePath",
    "RunInfo",
    "Store",
    "StoredExchange",
    "StoredReply",
    "StoredViolation",
    "redact_value",
    "stored_value",
]
