"""paritycheck: replay captured traffic against a legacy and a candidate backend and prove parity.

The library API the CLI is a shell over. Heavier entry points (the replay runner, the store, reports,
the gate, contracts) are imported on first use so that ``import paritycheck`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports
from paritycheck.errors import (
    BackendError,
    CaptureError,
    ConfigError,
    ExitStatus,
    ParitycheckError,
    SpecError,
    StoreError,
)
from paritycheck.models import Difference, Exchange, Outcome, Recorded, Reply, Request, Status

if TYPE_CHECKING:
    from paritycheck.config import Config
    from paritycheck.config import load as load_config

__version__ = "0.1.0"

# The configuration and heavier entry points load on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "Config": "config",
        "load_config": "config:load",
        "RunResult": "run",
        "RunSummary": "gate",
        "Store": "store",
        "compare_cohorts": "rollout",
        "dry_run": "run",
        "judge_rollout": "rollout:judge",
        "load_spec": "contract",
        "read_capture": "capture:read",
        "replay_captures": "run",
        "start_rollout_step": "rollout:start_step",
        "summarise": "gate",
    },
)

__all__ = [
    "BackendError",
    "CaptureError",
    "Config",
    "ConfigError",
    "Difference",
    "Exchange",
    "ExitStatus",
    "Outcome",
    "ParitycheckError",
    "Recorded",
    "Reply",
    "Request",
    "RunResult",
    "RunSummary",
    "SpecError",
    "Status",
    "Store",
    "StoreError",
    "__version__",
    "compare_cohorts",
    "dry_run",
    "judge_rollout",
    "load_config",
    "load_spec",
    "read_capture",
    "replay_captures",
    "start_rollout_step",
    "summarise",
]
