"""A run whose process is gone is called crashed by the next command; a live one is left running."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from paritycheck.models import Status
from paritycheck.store import STALE_SECONDS, Heartbeat, Store, reap_stale
from tests.store.storehelpers import ago, dead_pid, outcome, raw, start


def _set(db: Path, run_id: int, **values: object) -> None:
    conn = sqlite3.connect(db)
    with conn:
        for key, value in values.items():
            conn.execute(f"UPDATE runs SET {key} = ? WHERE id = ?", (value, run_id))
    conn.close()


def test_a_run_records_who_runs_it(tmp_path: Path) -> None:
    import os
    import socket

    with Store.open(tmp_path / "r.db") as s:
        run_id = start(s)
    sql = f"SELECT pid, host, heartbeat FROM runs WHERE id = {run_id}"
    ((pid, host, beat),) = raw(tmp_path / "r.db", sql)
    assert pid == os.getpid() and host == socket.gethostname() and beat


def test_dead_pid_on_this_host_is_crashed_with_its_totals(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Store.open(db, batch=2) as s:
        dead, alive = start(s), start(s)
        for i in range(4):
            s.add(dead, outcome(i, status=Status.MISMATCHED if i == 3 else Status.MATCHED))
        s.flush()
    _set(db, dead, pid=dead_pid())
    with Store.open(db, create=False) as s:
        crashed, running = s.run(dead), s.run(alive)
    assert crashed.status == "crashed" and crashed.ended is not None
    assert (crashed.total, crashed.matched, crashed.mismatched) == (4, 3, 1)
    assert running.status == "running"  # this very process: alive


def test_another_host_is_judged_by_its_heartbeat(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        fresh, stale = start(s), start(s)
    _set(db, fresh, host="elsewhere", pid=1, heartbeat=ago(1))
    _set(db, stale, host="elsewhere", pid=1, heartbeat=ago(STALE_SECONDS + 5))
    conn = sqlite3.connect(db)
    try:
        assert reap_stale(conn) == [stale]
    finally:
        conn.close()
    with Store.open(db, create=False) as s:
        assert s.run(fresh).status == "running" and s.run(stale).status == "crashed"


def test_the_heartbeat_moves_while_the_run_runs(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run_id = start(s)
    _set(db, run_id, heartbeat=ago(3600))
    beat = Heartbeat(db, run_id, interval=0.01).start()
    try:
        conn = sqlite3.connect(db)
        try:
            for _ in range(500):
                (last,) = conn.execute("SELECT heartbeat FROM runs WHERE id = ?", (run_id,)).fetchone()
                if dt.datetime.fromisoformat(last) > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60):
                    break
                beat._stop.wait(0.01)
            else:
                raise AssertionError("the heartbeat never moved")
        finally:
            conn.close()
    finally:
        beat.stop()
    with Store.open(db, create=False) as s:
        assert s.run(run_id).status == "running"
