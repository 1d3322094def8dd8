"""Runs that end badly say so: SIGINT, SIGTERM, SIGKILL on a real process, and a HAR cut in half.

Each test runs ``python -m paritycheck replay`` as a real subprocess against real loopback servers,
then reads the database and the reports the way a user would afterwards (``report`` and ``gate`` in
the test process, through click's runner).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paritycheck.errors import ExitStatus
from paritycheck.run import runner
from paritycheck.store import Store
from tests.clirun import invoke
from tests.harutil import gets, replay_args, write_har
from tests.servers import JsonServer, json_serve


def _start(tmp_path: Path, har: Path, legacy: str, candidate: str) -> subprocess.Popen[bytes]:
    args = replay_args(str(har), legacy, candidate, "--db", str(tmp_path / "r.db"), "--concurrency", "4")
    return subprocess.Popen(
        [sys.executable, "-m", "paritycheck", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(server: JsonServer, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(server.requests) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.requests) >= n, "the run did not get going"


def _reports(tmp_path: Path) -> tuple[str, str, dict[str, object]]:
    """Markdown, JUnit and JSON of the latest run, written by ``paritycheck report``."""
    md, junit, js = tmp_path / "r.md", tmp_path / "r.xml", tmp_path / "r.json"
    args = ["report", "--db", str(tmp_path / "r.db"), "--html", str(tmp_path / "r.html")]
    args += ["--markdown", str(md), "--junit", str(junit), "--json", str(js)]
    done = invoke(*args, cwd=tmp_path)  # in this process: the replay's was the one under test
    assert done.exit_code == 0, done.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "AT PARITY" not in html.upper().replace("NOT AT PARITY", "")
    return md.read_text(encoding="utf-8"), junit.read_text(encoding="utf-8"), json.loads(js.read_text())


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie holds no lock


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGINT, ExitStatus.INTERRUPTED), (signal.SIGTERM, ExitStatus.TERMINATED)],
    ids=["sigint", "sigterm"],
)
@pytest.mark.parametrize("entries", [400, 9000], ids=["store-in-process", "store-in-child"])
def test_a_stopped_run_is_interrupted_everywhere(
    tmp_path: Path, sig: signal.Signals, code: ExitStatus, entries: int
) -> None:
    """SIGINT exits 130 and SIGTERM 143; both flush, record ``interrupted`` and never read AT PARITY."""
    har = write_har(tmp_path / "c.har", gets("http://x", [f"/item/{i}" for i in range(entries)]))
    assert (har.stat().st_size >= runner.OFFLOAD_MIN_BYTES) == (entries > 400)
    with json_serve(delay=0.02) as legacy, json_serve(delay=0.02) as cand:
        proc = _start(tmp_path, har, legacy.url, cand.url)
        _wait_for(legacy, 40)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
        answered = len(cand.requests)  # the legacy is also asked twice for noise samples
    assert proc.returncode == code, err.decode()
    with Store.open(tmp_path / "r.db", create=False) as store:
        run = store.run(store.latest_run_id())
        kept = len(list(store.exchanges(run.id)))
    assert run.status == "interrupted" and run.ended is not None
    assert 0 < kept < entries and kept <= answered
    # Nothing lost at the end: every exchange both backends answered before the signal is stored,
    # except those still in flight when it came (at most --concurrency of them).
    assert kept >= answered - 4
    md, junit, summary = _reports(tmp_path)
    assert "AT PARITY" not in md.replace("NOT AT PARITY", "") and "INTERRUPTED" in md
    assert f"{kept:,} entries done" in md
    assert 'name="run status"' in junit and 'type="interrupted"' in junit
    assert summary["status"] == "interrupted" and summary["total"] == kept


def test_a_killed_run_is_crashed_and_its_helpers_free_the_database(tmp_path: Path) -> None:
    """SIGKILL: the store child dies with its parent, the database is writable at once, and the next
    command calls the run crashed."""
    har = write_har(tmp_path / "c.har", gets("http://x", [f"/item/{i}" for i in range(9000)]))
    with json_serve(delay=0.02) as legacy, json_serve(delay=0.02) as cand:
        proc = _start(tmp_path, har, legacy.url, cand.url)
        _wait_for(legacy, 600)  # past the first batches, so the writer child is busy
        children = _children(proc.pid)
        assert children, "the run has no helper process (expected the store writer child)"
        proc.kill()
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while not all(_gone(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(_gone(c) for c in children)
        # Write at once, without waiting for a lock: nobody holds one.
        conn = sqlite3.connect(tmp_path / "r.db", timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE runs SET meta = meta")
            conn.execute("COMMIT")
        finally:
            conn.close()
    assert proc.returncode == -signal.SIGKILL
    with Store.open(tmp_path / "r.db", create=False) as store:
        run = store.run(store.latest_run_id())
        assert run.status == "crashed"
        assert run.total == len(list(store.exchanges(run.id))) > 0
    md, junit, summary = _reports(tmp_path)
    assert "CRASHED" in md and 'type="crashed"' in junit and summary["status"] == "crashed"
    gate = invoke("gate", "--db", str(tmp_path / "r.db"), cwd=tmp_path)
    assert gate.exit_code == ExitStatus.DIFFERENCES, gate.output


def test_a_har_cut_in_half_is_a_capture_error_not_parity(tmp_path: Path) -> None:
    whole = write_har(tmp_path / "whole.har", gets("http://x", [f"/item/{i}" for i in range(200)]))
    data = whole.read_bytes()
    cut = tmp_path / "cut.har"
    cut.write_bytes(data[: len(data) // 2])
    with json_serve() as legacy, json_serve() as cand:
        proc = _start(tmp_path, cut, legacy.url, cand.url)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitStatus.USAGE, err.decode()
    with Store.open(tmp_path / "r.db", create=False) as store:
        run = store.run(store.latest_run_id())
    assert run.status == "capture_error" and 0 < run.total < 200
    md, junit, summary = _reports(tmp_path)
    assert "CAPTURE ERROR" in md and f"{run.total:,} entries done" in md
    assert 'type="capture_error"' in junit and summary["status"] == "capture_error"


def test_sigterm_outside_a_run_keeps_its_default(tmp_path: Path) -> None:
    """Only the replay's event loop turns SIGTERM into an interrupt; the handler is restored after."""
    from paritycheck.common import aio

    async def nothing() -> int:
        return 1

    before = signal.getsignal(signal.SIGTERM)
    assert aio.run(nothing()) == 1
    assert signal.getsignal(signal.SIGTERM) == before
    assert os.getpid() > 0
