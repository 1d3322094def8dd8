"""paritycheck: replay captured traffic against a legacy and a candidate backend and prove parity."""

from __future__ import annotations

from paritycheck.config import Config, load as load_config
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
    "SpecError",
    "Status",
    "StoreError",
    "__version__",
    "load_config",
]
