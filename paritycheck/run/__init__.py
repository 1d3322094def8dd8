"""Run: one replay run, wiring the stages together (capture -> select -> replay -> compare -> store)
with its consumers (store writer, live summary, progress), plus the dry run.
"""

from __future__ import annotations

from paritycheck.run.recording import open_recording
from paritycheck.run.runner import (
    Planned,
    RunResult,
    check_backends,
    config_record,
    dry_run,
    endpoint_matcher,
    replay_captures,
)

__all__ = [
    "Planned",
    "RunResult",
    "check_backends",
    "config_record",
    "dry_run",
    "endpoint_matcher",
    "open_recording",
    "replay_captures",
]
