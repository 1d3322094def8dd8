"""Shared builders for the store tests: outcomes, runs and raw reads through another connection."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from paritycheck.models import Difference, Exchange, Headers, Outcome, Reply, Request, Status
from paritycheck.store import Store

JSON: Headers = (("content-type", "application/json"),)


def outcome(
    i: int,
    *,
    endpoint: str = "GET /items/{id}",
    status: Status = Status.MATCHED,
    body: bytes | None = None,
    differences: tuple[Difference, ...] = (),
    noise: tuple[Difference, ...] = (),
    request_headers: Headers = (),
    url: str | None = None,
    legacy_error: str | None = None,
    again: bool = False,
) -> Outcome:
    """An outcome with distinct bodies and timings per ``i`` unless ``body`` is given."""
    path = f"/items/{i}"
    request = Request("GET", url or f"http://legacy.test{path}", path, headers=request_headers)
    exchange = Exchange(index=i, source="capture.har", request=request)
    if status is Status.SKIPPED:
        return Outcome(exchange, endpoint, status, reason="unsafe method")
    data = body if body is not None else orjson.dumps({"id": i, "name": f"item {i}"})
    legacy = Reply(200, JSON, data, elapsed_ms=1.0 + i)
    if legacy_error:
        legacy = Reply(0, error=legacy_error, elapsed_ms=2.0)
    candidate = Reply(200, JSON, data, elapsed_ms=2.0 + i)
    return Outcome(
        exchange,
        endpoint,
        status,
        legacy=legacy,
        candidate=candidate,
        differences=differences,
        noise=noise,
        legacy_again=Reply(200, JSON, data, elapsed_ms=3.0) if again else None,
    )


def start(s: Store, **kw: Any) -> int:
    return s.start_run(
        tool_version="0.1.0",
        config={"replay": {"concurrency": 4}},
        backends={"legacy": "http://l", "candidate": "http://c"},
        captures=[{"name": "capture.har", "digest": "abc"}],
        **kw,
    )


def raw(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Query the file through a separate connection: what another process would see."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def dead_pid() -> int:
    """The pid of a process that has exited (for runs whose process is gone)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def ago(seconds: float) -> str:
    """An instant ``seconds`` ago, as the store writes them."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
