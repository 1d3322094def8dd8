"""An open window is a running run to every other command, however long it stays open."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path

import httpx

from paritycheck.live.window import Windows
from paritycheck.models import Exchange, Outcome, Reply, Request, Status
from paritycheck.store import STALE_SECONDS, Store
from tests.live.livehelpers import backend, config, live
from tests.live.test_live_mirror import echo


def _backdate(db: Path, run_id: int, seconds: float) -> str:
    """Make the run look ``seconds`` old, its heartbeat too (as a window open that long would be)."""
    then = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        conn.execute("UPDATE runs SET started = ?, heartbeat = ? WHERE id = ?", (then, then, run_id))
    return then


def _beat(db: Path, run_id: int) -> str:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return str(conn.execute("SELECT heartbeat FROM runs WHERE id = ?", (run_id,)).fetchone()[0])


def _status(db: Path, run_id: int) -> str:
    with Store.open(db, create=False) as store:  # opening reaps runs it believes dead
        return store.run(run_id).status


def _outcome(i: int) -> Outcome:
    request = Request("GET", f"http://live/items/{i}", f"/items/{i}", "")
    exchange = Exchange(index=i, source="live", request=request)
    return Outcome(exchange=exchange, endpoint="GET /items/{id}", status=Status.SKIPPED, reason="a write")


def test_a_long_open_window_keeps_beating(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    windows = Windows(db, source="live mirror", config={}, backends={}, seconds=3600, heartbeat=0.05)
    windows.add(_outcome(1))
    assert windows.run_id is not None
    run_id = windows.run_id
    _backdate(db, run_id, STALE_SECONDS + 60)
    time.sleep(0.3)  # a few beats
    assert _status(db, run_id) == "running"
    windows.add(_outcome(2))
    assert windows.close() == run_id
    assert _status(db, run_id) == "complete"


async def test_the_helper_beats_for_its_open_window(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), db, mode="mirror", window_seconds=3600) as server,
        httpx.AsyncClient() as client,
    ):
        await client.get(f"http://127.0.0.1:{server.port}/items/1")
        for _ in range(100):
            if server.metrics.totals.seen == 1:
                break
            await asyncio.sleep(0.05)
        first = _beat(db, 1)
        for _ in range(300):  # the helper's next beat, every HEARTBEAT_SECONDS (read without reaping)
            if _beat(db, 1) != first:
                break
            await asyncio.sleep(0.05)
        assert _beat(db, 1) > first
        assert await asyncio.to_thread(_status, db, 1) == "running"
        run_id = await server.stop()
    assert run_id == 1 and _status(db, 1) == "complete"


def _at(i: int, path: str) -> Outcome:
    from paritycheck.common.endpoints import template

    exchange = Exchange(index=i, source="live", request=Request("GET", f"http://live{path}", path, ""))
    replies = {"legacy": Reply(200, elapsed_ms=1.0), "candidate": Reply(200, elapsed_ms=1.0)}
    return Outcome(exchange=exchange, endpoint=f"GET {template(path)}", status=Status.MATCHED, **replies)


def test_windows_name_endpoints_as_the_windows_before_and_compare_with_them(tmp_path: Path) -> None:
    """A window with one article names it as an earlier window learned (issue 21.7), and its report's
    "vs run N" is the window before, the same listener's (issue 21.6)."""
    from paritycheck.gate import comparable_before

    db = tmp_path / "w.db"
    windows = Windows(db, source="live proxy 127.0.0.1:8080", config={}, backends={}, exchanges=5)
    for i in range(5):  # the first window closes at 5 exchanges: five slugs, a parameter
        windows.add(_at(i, f"/api/articles/post-{i}"))
    windows.add(_at(5, "/api/articles/how-to-train-your-dragon"))
    second = windows.close()
    with Store.open(db, create=False) as store:
        endpoints = {x.endpoint for x in store.exchanges(second)}
        assert endpoints == {"GET /api/articles/{param}"}
        assert comparable_before(store, second) == (windows.closed[0], "")
