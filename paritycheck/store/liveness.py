"""Telling a run that is still going from one whose process died: a heartbeat, and reaping stale runs.

A run records the pid and host of its process (``start_run``) and a heartbeat that a thread of that
process refreshes every :data:`HEARTBEAT_SECONDS`. A run killed by SIGKILL, the OOM killer or a power
loss never finishes and would read ``running`` forever; :func:`reap_stale` (called whenever the store
is opened) calls it ``crashed`` when its pid is dead on this host, or when its heartbeat is older than
:data:`STALE_SECONDS` (another host, a reused pid, or a run recorded before heartbeats existed).
The heartbeat is a thread with its own connection, not a task on the replay's event loop: it costs
nothing per exchange and keeps beating while the loop is busy. Both stores do this: on PostgreSQL,
where runs come from several hosts, a run of another host is judged by its heartbeat alone.
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
    return True


def _stale(pid: int | None, host: str | None, beat: str | None, started: str, now: dt.datetime) -> bool:
    if pid is not None and host == socket.gethostname() and not _pid_alive(pid):
        return True
    try:
        last = dt.datetime.fromisoformat(beat or started)
    except ValueError:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return (now - last).total_seconds() > STALE_SECONDS


def reap_stale(conn: Any) -> list[int]:
    """Mark every ``running`` run whose process is gone as ``crashed``, with its stored totals.

    ``conn`` is a ``sqlite3.Connection`` or the store's database (``sqlite_utils.Database``, or the
    PostgreSQL adapter that speaks its dialect). Returns the ids marked. The run's end time is its last
    heartbeat: the last moment it was known alive.
    """
    now = _now()
    rows = conn.execute(
        "SELECT id, pid, host, heartbeat, started FROM runs WHERE status = 'running'"
    ).fetchall()
    stale = [
        (run_id, beat or started)
        for run_id, pid, host, beat, started in rows
        if _stale(pid, host, beat, started, now)
    ]
    if not stale:
        return []
    with conn.atomic() if hasattr(conn, "atomic") else conn:
        for run_id, last in stale:
            counts = dict(
                conn.execute(
                    "SELECT outcome, COUNT(*) FROM exchanges WHERE run_id = ? GROUP BY outcome", (run_id,)
                ).fetchall()
            )
            conn.execute(
                "UPDATE runs SET status = 'crashed', ended = ?, total = ?, matched = ?, mismatched = ?,"
                " failed = ?, skipped = ? WHERE id = ? AND status = 'running'",
                (last, sum(counts.values()), *(counts.get(s.value, 0) for s in Status), run_id),
            )
    return [run_id for run_id, _ in stale]
