"""Crash detection on PostgreSQL: a run whose process is gone reads ``crashed``, a beating one ``running``.

As on SQLite (tests/store/test_store_liveness.py), but runs here come from several hosts: one of this
host is judged by its pid, one of another host by its heartbeat alone.
"""

from __future__ import annotations

import time

import psycopg

from paritycheck.models import Status
from paritycheck.store import STALE_SECONDS, Heartbeat, Store
from tests.store.storehelpers import ago, dead_pid, outcome, start


def _set(dsn: str, run_id: int, **values: object) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for key, value in values.items():
            conn.execute(f"UPDATE runs SET {key} = %s WHERE id = %s", (value, run_id))


def _beat(dsn: str, run_id: int) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT heartbeat FROM runs WHERE id = %s", (run_id,)).fetchone()
    assert row is not None
    return str(row[0])


def test_runs_of_dead_processes_and_silent_hosts_are_crashed(pg_dsn: str) -> None:
    with Store.open(pg_dsn, batch=2) as s:
        dead, alive, fresh, silent = (start(s) for _ in range(4))
        for i in range(3):
            s.add(dead, outcome(i, status=Status.MISMATCHED if i == 2 else Status.MATCHED))
        s.flush()
    _set(pg_dsn, dead, pid=dead_pid())
    _set(pg_dsn, fresh, host="elsewhere", pid=1, heartbeat=ago(1))
    _set(pg_dsn, silent, host="elsewhere", pid=1, heartbeat=ago(STALE_SECONDS + 5))
    with Store.open(pg_dsn, create=False) as s:
        runs = {run_id: s.run(run_id) for run_id in (dead, alive, fresh, silent)}
    assert runs[dead].status == "crashed" and runs[dead].ended is not None
    assert (runs[dead].total, runs[dead].matched, runs[dead].mismatched) == (3, 2, 1)
    assert runs[silent].status == "crashed"
    assert runs[alive].status == runs[fresh].status == "running"  # this process; a beating host


def test_the_heartbeat_moves_on_postgres(pg_dsn: str) -> None:
    with Store.open(pg_dsn) as s:
        run_id = start(s)
    _set(pg_dsn, run_id, host="elsewhere", heartbeat=ago(3600))
    old = _beat(pg_dsn, run_id)
    beat = Heartbeat(pg_dsn, run_id, interval=0.02).start()
    try:
        deadline = time.monotonic() + 10
        while _beat(pg_dsn, run_id) == old and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        beat.stop()
    assert _beat(pg_dsn, run_id) > old
    with Store.open(pg_dsn, create=False) as s:
        assert s.run(run_id).status == "running"
