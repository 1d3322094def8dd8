"""Telling a run that is still going from one whose process died: a heartbeat, and reaping stale runs.

A run records the pid and host of its process (``start_run``) and a heartbeat that a thread of that
process refreshes every :data:`HEARTBEAT_SECONDS`. A run killed by SIGKILL, the OOM killer or a power
loss never finishes and would read ``running`` forever; :func:`reap_stale` (called whenever the store
is opened) calls it ``crashed`` when its pid is dead on this host, or when its heartbeat is older than
:data:`STALE_SECONDS` (another host, a reused pid, or a run recorded before heartbeats existed).
The heartbeat is a thread with its own connection, not a task on the replay's event loop: it costs
nothing per exchange and keeps beating while the loop is busy. Both stores do this: on PostgreSQL,
where runs come from several hosts, a run of another host is judged by its heartbeat alone.

A sharded run (``--shard``, ``--workers``) has one process per shard: each records its pid and host in
``meta.shards.procs``. It is stale when every shard still marked running is a dead pid of this host
(or, as any run, when its heartbeat, which every shard refreshes, is a minute old); those shards are
then marked ``crashed`` and the run gets the status its shards make (store/shards.py).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paritycheck.models import Status
from paritycheck.store.dsn import is_dsn
from paritycheck.store.records import dumps, loads
from paritycheck.store.shards import RUNNING, shard_run_status

if TYPE_CHECKING:
    import psycopg

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS", "Heartbeat", "reap_stale"]

#: How often a running run refreshes its heartbeat.
HEARTBEAT_SECONDS = 5.0
#: A running run whose heartbeat is older than this is called crashed (12 missed beats).
STALE_SECONDS = 60.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds")


class Heartbeat:
    """Refresh ``runs.heartbeat`` of one run from a daemon thread until :meth:`stop`.

    ``path`` is the SQLite file or a ``postgresql://`` DSN (the thread then holds one connection of
    its own, opened again after a failure)."""

    def __init__(self, path: Path | str, run_id: int, *, interval: float = HEARTBEAT_SECONDS) -> None:
        self.path = path
        self.run_id = run_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _beat(self) -> None:
        if is_dsn(self.path):
            self._beat_postgres(str(self.path))
            return
        conn = sqlite3.connect(str(self.path), timeout=5.0)
        try:
            while not self._stop.wait(self.interval):
                try:
                    with conn:
                        conn.execute(
                            "UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'running'",
                            (_stamp(_now()), self.run_id),
                        )
                except sqlite3.Error:  # busy or gone: the next beat tries again; never break the run
                    continue
        finally:
            conn.close()

    def _beat_postgres(self, dsn: str) -> None:
        import psycopg  # only a PostgreSQL run pays for the driver

        conn: psycopg.Connection[Any] | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
                    conn.execute(
                        "UPDATE runs SET heartbeat = %s WHERE id = %s AND status = 'running'",
                        (_stamp(_now()), self.run_id),
                    )
                except psycopg.Error:  # the server away for a moment: the next beat connects again
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A dead process not yet reaped (an orphaned worker waits for init to reap it): dead all the same."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs (macOS): a signal 0 that reached it is all we know
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"])


def _dead_here(proc: Any) -> bool:
    """Whether ``proc`` (``{"pid", "host"}``) is a process of this host that is no longer alive."""
    if not isinstance(proc, dict) or proc.get("host") != socket.gethostname():
        return False
    pid = proc.get("pid")
    return isinstance(pid, int) and not _pid_alive(pid)


def _silent(beat: str | None, started: str, now: dt.datetime) -> bool:
    try:
        last = dt.datetime.fromisoformat(beat or started)
    except ValueError:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return (now - last).total_seconds() > STALE_SECONDS


def _stale(pid: int | None, host: str | None, beat: str | None, started: str, now: dt.datetime) -> bool:
    if pid is not None and host == socket.gethostname() and not _pid_alive(pid):
        return True
    return _silent(beat, started, now)


def _shards_stale(shards: dict[str, Any], beat: str | None, started: str, now: dt.datetime) -> bool:
    """A sharded run is stale when every shard marked running died on this host, or it fell silent."""
    procs = shards.get("procs") or {}
    running = [i for i, state in (shards.get("state") or {}).items() if state == RUNNING]
    if running and all(_dead_here(procs.get(i)) for i in running):
        return True
    return _silent(beat, started, now)


def _reaped(meta: str | None) -> tuple[str, dict[str, Any] | None]:
    """The status of a stale run, and for a sharded one the meta patch that marks its shards crashed."""
    shards = loads(meta).get("shards") if meta else None
    if not isinstance(shards, dict):
        return "crashed", None
    states = {i: ("crashed" if s == RUNNING else s) for i, s in (shards.get("state") or {}).items()}
    patch = {"shards": {"state": {i: s for i, s in states.items() if shards["state"][i] == RUNNING}}}
    return shard_run_status(states, int(shards.get("count", 0))), patch


def reap_stale(conn: Any) -> list[int]:
    """Mark every ``running`` run whose process is gone as ``crashed``, with its stored totals.

    ``conn`` is a ``sqlite3.Connection`` or the store's database (``SqliteDatabase``, or the
    PostgreSQL adapter that speaks its dialect). Returns the ids marked. The run's end time is its last
    heartbeat: the last moment it was known alive. A sharded run gets the status its shards make once
    the dead ones are called crashed (``crashed``, unless one of them failed).
    """
    now = _now()
    rows = conn.execute(
        "SELECT id, pid, host, heartbeat, started, meta FROM runs WHERE status = 'running'"
    ).fetchall()
    stale = []
    for run_id, pid, host, beat, started, meta in rows:
        shards = loads(meta).get("shards") if meta else None
        if isinstance(shards, dict):
            if _shards_stale(shards, beat, started, now):
                stale.append((run_id, beat or started, meta))
        elif _stale(pid, host, beat, started, now):
            stale.append((run_id, beat or started, None))
    if not stale:
        return []
    with conn.atomic() if hasattr(conn, "atomic") else conn:
        for run_id, last, meta in stale:
            status, patch = _reaped(meta)
            counts = dict(
                conn.execute(
                    "SELECT outcome, COUNT(*) FROM exchanges WHERE run_id = ? GROUP BY outcome", (run_id,)
                ).fetchall()
            )
            conn.execute(
                "UPDATE runs SET status = ?, ended = ?, total = ?, matched = ?, mismatched = ?,"
                " failed = ?, skipped = ?, meta = json_patch(meta, ?) WHERE id = ? AND status = 'running'",
                (status, last, sum(counts.values()), *(counts.get(s.value, 0) for s in Status),
                 dumps(patch or {}), run_id),
            )  # fmt: skip
    return [run_id for run_id, _, _ in stale]
