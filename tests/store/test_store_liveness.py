"""A run whose process is gone is called crashed by the next command; a live one is left running."""

from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3
from pathlib import Path

from paritycheck.models import Status
from paritycheck.store import STALE_SECONDS, Heartbeat, Store, describe_shards, reap_stale
from paritycheck.store.shards import shard_run_status
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


def _join(s: Store, name: str, shard: int, count: int) -> int:
    run_id, _ = s.join_shard(
        name, shard=shard, count=count, fingerprint={}, tool_version="0.1.0", config={},
        backends={}, captures=[],
    )  # fmt: skip
    return run_id


def _dead_shard(db: Path, run_id: int, shard: int) -> None:
    patch = json.dumps({"shards": {"procs": {str(shard): {"pid": dead_pid(), "host": socket.gethostname()}}}})
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE runs SET meta = json_patch(meta, ?) WHERE id = ?", (patch, run_id))
    conn.close()


def test_a_sharded_run_is_crashed_when_its_running_shards_are_dead(tmp_path: Path) -> None:
    """Each shard's process is known: the run is running while one lives, crashed once none does, and a
    shard that ran alone and finished leaves the run waiting for the others, never crashed."""
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        half = _join(s, "half", 1, 2)  # shard 1 is this process, shard 2 dead
        _join(s, "half", 2, 2)
        both = _join(s, "both", 1, 2)
        _join(s, "both", 2, 2)
        one_done = _join(s, "one-done", 1, 2)
        s.finish_shard(one_done, shard=1, status="complete")
        _join(s, "one-done", 2, 2)
        alone = _join(s, "alone", 2, 4)
        s.finish_shard(alone, shard=2, status="complete")
    for run_id, shard in ((half, 2), (both, 1), (both, 2), (one_done, 2)):
        _dead_shard(db, run_id, shard)
    _set(db, alone, heartbeat=ago(STALE_SECONDS * 10))
    with Store.open(db, create=False) as s:
        runs = {run_id: s.run(run_id) for run_id in (half, both, one_done, alone)}
    assert runs[half].status == "running"
    assert runs[both].status == "crashed" and runs[both].meta["shards"]["state"] == {
        "1": "crashed",
        "2": "crashed",
    }
    assert runs[one_done].status == "crashed" and describe_shards(runs[one_done]) == "1 of 2 shards complete"
    assert runs[alone].status == "waiting" and describe_shards(runs[alone]) == "1 of 4 shards complete"


def test_shard_states_make_the_run_status() -> None:
    assert shard_run_status({"1": "complete", "2": "complete"}, 2) == "complete"
    assert shard_run_status({"2": "complete"}, 4) == "waiting"
    assert shard_run_status({"1": "complete", "2": "interrupted"}, 3) == "interrupted"
    assert shard_run_status({"1": "interrupted", "2": "crashed"}, 2) == "crashed"
    assert shard_run_status({"1": "crashed", "2": "failed"}, 2) == "failed"
