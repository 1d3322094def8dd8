"""A worker-split replay stopped by a signal sent to the command itself, then resumed (issue 22).

Shared by the SQLite test (tests/test_worker_signals.py) and the PostgreSQL one (tests/pg). The run is a
real ``paritycheck replay --workers 2`` against a real loopback server, paced with ``--rate`` so that
the signal comes mid-run; ``--resume`` then runs at full speed (rate and concurrency may differ
between a run's shards).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harutil import entry, write_har

from paritycheck.store import Store
from tests.clirun import invoke

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 240
SESSIONS = 24


def capture(path: Path) -> Path:
    """GETs in :data:`SESSIONS` sessions (Authorization values), so that two workers share them."""
    return write_har(
        path,
        [
            entry("GET", f"http://api.test/item/{i}", headers=[("Authorization", f"Bearer u{i % SESSIONS}")])
            for i in range(ENTRIES)
        ],
    )


def _command(har: Path, db: str, url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "paritycheck", "replay", str(har), "--legacy", url, "--candidate", url,
        "--db", db, "--no-report", "--json", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def processes_of(marker: str) -> list[int]:
    """Live processes (not zombies) whose command line names ``marker`` (the run's capture or store)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(proc.name))
    return found


def _stored(db: str) -> int:
    try:
        with Store.open(db, create=False) as store:
            return sum(len(store.stored_entries(r.id)) for r in store.runs())
    except Exception:  # not created yet
        return 0


def stop_and_resume(tmp_path: Path, db: str, url: str, sig: signal.Signals, seen: list[object]) -> None:
    """Run, send ``sig`` to the command once outcomes are stored, check what is left, resume, check all.

    ``seen`` is the server's list of received requests (its length says the run is going)."""
    har = capture(tmp_path / "c.har")
    proc = subprocess.Popen(
        _command(har, db, url, "--workers", "2", "--rate", "25", "--concurrency", "2"),
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (_stored(db) < 10 or len(seen) < 30) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()[1].decode()}"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    expected = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}[sig]
    assert proc.returncode == expected, err.decode()
    assert "Traceback" not in err.decode()

    def left() -> list[int]:  # workers name the capture; their store writers name the database
        return processes_of(str(har)) + processes_of(db)

    deadline = time.monotonic() + 2  # no process of the run is left within 2 s
    while left() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left(), "a worker or helper outlived the command"
    sent = len(seen)
    time.sleep(0.3)
    assert len(seen) == sent, "requests were still sent after the command ended"
    with Store.open(db, create=False) as store:
        (run,) = store.runs()
        assert run.status == ("crashed" if sig == signal.SIGKILL else "interrupted"), run.status
        kept = len(store.stored_entries(run.id))
    assert kept < ENTRIES
    # The resume in this process: the command's own process was what the signal test needed.
    # as the command ran: no paritycheck.toml but the test's
    resumed = invoke(*_command(har, db, url, "--resume", "--concurrency", "16")[3:], cwd=tmp_path)
    assert resumed.exit_code in (0, 1), resumed.stderr
    assert f"resuming run {run.id}" in resumed.stderr
    summary = json.loads(resumed.stdout)
    assert (summary["status"], summary["total"]) == ("complete", ENTRIES)
    assert summary["sessions"]["count"] == SESSIONS  # every shard's sessions, not the last one's
    with Store.open(db, create=False) as store:
        (again,) = store.runs()
        keys = [(x.source, x.entry) for x in store.exchanges(again.id)]
        assert again.status == "complete" and again.id == run.id
    assert len(keys) == len(set(keys)) == ENTRIES  # nothing duplicated, nothing lost
