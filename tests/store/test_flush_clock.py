"""Buffered outcomes are written once they have waited FLUSH_SECONDS, not only by the batch: a process
killed without a goodbye loses at most that much of a slow run (the batch of 500 could be minutes)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from paritycheck.models import Status
from paritycheck.store import Store
from tests.report.reportdata import outcome


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()
    return int(n)


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "writer-child"])
def test_an_outcome_older_than_the_flush_clock_is_written_without_a_full_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_child: bool
) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as store:
        run_id = store.start_run(tool_version="t", config={}, backends={}, captures=[])
        if in_child:
            store.write_in_child()
        store.add(run_id, outcome(0, "GET /a", Status.MATCHED))
        assert _stored(db) == 0  # one outcome of a batch of 500, just arrived: buffered
        # The clock runs out (0 s): the next outcome sends both on, and the child writes them at once.
        monkeypatch.setattr("paritycheck.store.writer.FLUSH_SECONDS", 0.0)
        monkeypatch.setattr("paritycheck.store.childwriter.FLUSH_SECONDS", 0.0)
        store.add(run_id, outcome(1, "GET /a", Status.MATCHED))
        deadline = time.monotonic() + 30  # the child writes it on its own; no flush, no sync asked for
        while _stored(db) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _stored(db) == 2
        store.finish_run(run_id, status="complete")
