"""SIGINT, SIGTERM and SIGKILL sent to ``replay --workers 2`` itself (issue 22): no worker is left sending
traffic, the run reads ``interrupted`` or ``crashed``, and ``--resume`` completes it exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import workercase

from tests.servers import json_serve


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_signal_to_a_worker_split_replay_leaves_nothing_running_and_resumes(
    tmp_path: Path, sig: signal.Signals
) -> None:
    with json_serve() as server:
        workercase.stop_and_resume(tmp_path, str(tmp_path / "r.db"), server.url, sig, server.requests)
