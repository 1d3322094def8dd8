"""Run: one replay run, wiring the stages together (capture -> select -> replay -> compare -> store)
with its consumers (store writer, live summary, progress), plus the dry run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.run.naming import name_endpoints
    from paritycheck.run.prepare import Planned, dry_run, endpoint_matcher
    from paritycheck.run.record import check_backends, config_record, redacted_backends
    from paritycheck.run.recording import open_recording
    from paritycheck.run.runner import RunResult, failed_outcome, replay_captures
    from paritycheck.run.shards import Shard, parse_shard

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "name_endpoints": "naming",
        "Planned": "prepare",
        "dry_run": "prepare",
        "endpoint_matcher": "prepare",
        "check_backends": "record",
        "config_record": "record",
        "redacted_backends": "record",
        "open_recording": "recording",
        "RunResult": "runner",
        "failed_outcome": "runner",
        "replay_captures": "runner",
        "Shard": "shards",
        "parse_shard": "shards",
    },
)

__all__ = [
    "Planned",
    "RunResult",
    "Shard",
    "check_backends",
    "config_record",
    "dry_run",
    "endpoint_matcher",
    "failed_outcome",
    "name_endpoints",
    "open_recording",
    "parse_shard",
    "redacted_backends",
    "replay_captures",
]
