"""paritycheck: replay captured traffic against a legacy and a candidate backend and prove parity.

The library API the CLI is a shell over. Heavier entry points (the replay runner, the store, reports,
the gate, contracts) are imported on first use so that ``import paritycheck`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from paritycheck.config import Config
from paritycheck.config import load as load_config
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

__version__ = "0.1.0"

#: Lazily imported names: name -> module.
_LAZY = {
    "RunResult": "paritycheck.run",
    "RunSummary": "paritycheck.gate",
    "Store": "paritycheck.store",
    "compare_cohorts": "paritycheck.rollout",
    "dry_run": "paritycheck.run",
    "judge_rollout": "paritycheck.rollout",
    "load_spec": "paritycheck.contract",
    "read_capture": "paritycheck.capture",
    "replay_captures": "paritycheck.run",
    "start_rollout_step": "paritycheck.rollout",
    "summarise": "paritycheck.gate",
}
_RENAMED = {"read_capture": "read", "judge_rollout": "judge", "start_rollout_step": "start_step"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paritycheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


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
