"""paritycheck: replay captured traffic against a legacy and a candidate backend and prove parity.

The library API the CLI is a shell over. Heavier entry points (the replay runner, the store, reports,
the gate, contracts) are imported on first use so that ``import paritycheck`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import attributes
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

if TYPE_CHECKING:  # the higher stages are not imported here even for typing (the import-linter layers)
    from paritycheck.config import Config
    from paritycheck.config import load as load_config

#: Lazily imported names: name -> module. The configuration is among them: the capture reader and the
#: store writer children import the package and read no configuration (it cost each ~80 ms at start).
_LAZY = {
    "Config": "paritycheck.config",
    "load_config": "paritycheck.config",
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
_RENAMED = {
    "load_config": "load",
    "read_capture": "read",
    "judge_rollout": "judge",
    "start_rollout_step": "start_step",
}

__getattr__ = attributes(globals(), _LAZY, _RENAMED)


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
