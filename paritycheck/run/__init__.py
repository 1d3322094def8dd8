"""Run: one replay run, wiring the stages together (capture -> select -> replay -> compare -> store)
with its consumers (store writer, live summary, progress), plus the dry run.
"""

from __future__ import annotations

from paritycheck.run.naming import name_endpoints
from paritycheck.run.prepare import Planned, dry_run, endpoint_matcher
from paritycheck.run.record import check_backends, config_record, redacted_backends
from paritycheck.run.recording import open_recording
from paritycheck.run.runner import RunResult, failed_outcome, replay_captures
from paritycheck.run.shards import Shard, parse_shard

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
