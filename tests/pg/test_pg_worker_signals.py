"""The worker-split signal test of tests/test_worker_signals.py with the run stored in PostgreSQL: the
shards' processes are told from each other there too, so a killed command's run reads ``crashed``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import workercase

from tests.servers import json_serve


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_a_worker_split_replay_into_postgres_resumes(
    tmp_path: Path, pg_dsn: str, sig: signal.Signals
) -> None:
    with json_serve() as server:
        workercase.stop_and_resume(tmp_path, pg_dsn, server.url, sig, server.requests)
