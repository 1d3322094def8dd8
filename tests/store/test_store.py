"""The results store: the run lifecycle, batched writing, redaction, dedupe, crash safety and queries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import orjson
import pytest

import paritycheck.store as store_mod
from paritycheck.errors import StoreError
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store, StoredExchange
from tests.store.storehelpers import JSON, outcome, raw, start

ROOT = Path(__file__).resolve().parent.parent.parent


def test_run_lifecycle_records_totals_status_and_meta(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as s:
        run_id = start(s, started="2024-01-01T00:00:00+00:00")
        running = s.run(run_id)
        assert (running.status, running.ended, running.total) == ("running", None, 0)
        statuses = [Status.MATCHED, Status.MATCHED, Status.MISMATCHED, Status.FAILED, Status.SKIPPED]
        for i, st in enumerate(statuses):
            s.add(run_id, outcome(i, status=st))
        s.finish_run(run_id, status="interrupted")
        s.update_meta(run_id, {"reset": {"legacy": 0}})
        s.update_meta(run_id, {"reset": {"candidate": 1}})
        info = s.run(run_id)
    assert info.status == "interrupted"
    assert info.ended is not None and info.started == "2024-01-01T00:00:00+00:00"
    assert (info.total, info.matched, info.mismatched, info.failed, info.skipped) == (5, 2, 1, 1, 1)
    assert info.config == {"replay": {"concurrency": 4}}
    assert info.backends == {"legacy": "http://l", "candidate": "http://c"}
    assert info.captures == [{"name": "capture.har", "digest": "abc"}]
    assert info.meta == {"reset": {"legacy": 0, "candidate": 1}}


def test_finish_run_rejects_unknown_status(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as s:
        run_id = start(s)
        with pytest.raises(ValueError, match="complete"):
            s.finish_run(run_id, status="done")


def test_unknown_run_and_empty_database(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as s:
        with pytest.raises(StoreError, match="no runs in"):
            s.latest_run_id()
        first, second = start(s), start(s)
        with pytest.raises(StoreError, match="no run 999") as info:
            s.run(999)
    assert info.value.hint is not None
    assert str(first) in info.value.hint and str(second) in info.value.hint


# -- writing


def test_outcomes_are_written_in_batches(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    with Store.open(db, batch=3) as s:
        run_id = start(s)
        for i in range(7):
            s.add(run_id, outcome(i))
        assert raw(db, "SELECT COUNT(*) FROM exchanges") == [(6,)]
        s.flush()
        assert raw(db, "SELECT COUNT(*) FROM exchanges") == [(7,)]
    assert raw(db, "SELECT COUNT(*) FROM exchanges") == [(7,)]


def test_exchanges_round_trip_in_arrival_order(tmp_path: Path) -> None:
    diff = Difference("changed", "$.price", 1.5, "1.50")
    header_diff = Difference("header", "header:cache-control", "no-cache", None)
    noisy = Difference("changed", "$.updated_at", "a", "b")
    with Store.open(tmp_path / "o.db", batch=2) as s:
        run_id = start(s)
        order = [5, 3, 9, 1, 7]
        for i in order:
            mismatched = i == 9
            s.add(
                run_id,
                outcome(
                    i,
                    status=Status.MISMATCHED if mismatched else Status.MATCHED,
                    differences=(diff, header_diff) if mismatched else (),
                    noise=(noisy,),
                    again=i == 3,
                ),
            )
        s.add(run_id, outcome(11, endpoint="GET /other", status=Status.SKIPPED))
        got = list(s.exchanges(run_id))
        assert [x.entry for x in got] == [*order, 11]
        assert [x.seq for x in got] == list(range(6))
        nine: StoredExchange = got[2]
        assert nine.outcome is Status.MISMATCHED
        assert nine.differences == (diff, header_diff)
        assert nine.noise == (noisy,)
        assert nine.legacy is not None and nine.candidate is not None
        assert (nine.legacy.status, nine.legacy.elapsed_ms, nine.candidate.elapsed_ms) == (200, 10.0, 11.0)
        assert nine.legacy.headers == JSON
        assert nine.legacy.body is not None
        assert orjson.loads(s.body(nine.legacy.body)) == {"id": 9, "name": "item 9"}
        assert nine.legacy_again is None and got[1].legacy_again is not None
        assert got[1].legacy_again.elapsed_ms == 3.0
        skipped = got[5]
        assert (skipped.legacy, skipped.candidate, skipped.reason) == (None, None, "unsafe method")
        assert [x.entry for x in s.exchanges(run_id, outcome="mismatched")] == [9]
        assert [x.entry for x in s.exchanges(run_id, endpoint="GET /other")] == [11]
        assert [x.entry for x in s.exchanges(run_id, limit=2)] == [5, 3]


def test_identical_bodies_are_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    body = orjson.dumps({"same": "body", "n": list(range(50))})
    with Store.open(db, batch=2) as s:
        run_id = start(s)
        for i in range(5):
            s.add(run_id, outcome(i, body=body, again=True))
    with Store.open(db) as s:  # a new session: its in-memory digest set is empty
        s.add(start(s), outcome(99, body=body))
    assert raw(db, "SELECT COUNT(*) FROM bodies") == [(1,)]
    ((data, size),) = raw(db, "SELECT data, size FROM bodies")
    stored = zlib.decompress(data)
    assert orjson.loads(stored) == orjson.loads(body) and size == len(stored)
    digests = {
        r for row in raw(db, "SELECT legacy_body, candidate_body, again_body FROM exchanges") for r in row
    }
    assert len(digests - {None}) == 1


def test_body_lookup_of_unknown_digest(tmp_path: Path) -> None:
    with Store.open(tmp_path / "b.db") as s, pytest.raises(StoreError, match="no body"):
        s.body("0" * 64)


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    db = tmp_path / "secret.db"
    token, password = "Bearer tok-7f3a9c2e1b", "hunter2-sw0rdfish"
    login = orjson.dumps({"user": "ann", "password": password})
    with Store.open(db) as s:
        run_id = start(s)
        s.add(
            run_id,
            Outcome(
                Exchange(
                    0,
                    "c.har",
                    Request(
                        "POST",
                        f"http://l/login?token={token[7:]}",
                        "/login",
                        query=f"token={token[7:]}",
                        headers=(("authorization", token), *JSON),
                        body=login,
                    ),
                ),
                "POST /login",
                Status.MISMATCHED,
                legacy=Reply(200, JSON, login),
                candidate=Reply(200, (("set-cookie", f"s={token}"), *JSON), b"{}"),
                differences=(Difference("removed", "$.password", password, None),),
            ),
        )
        s.finish_run(run_id, status="complete")
        bodies = [zlib.decompress(data) for (data,) in s.db.conn.execute("SELECT data FROM bodies")]
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("secret.db"))
    for secret in (token[7:], password):
        assert secret.encode() not in files
        assert all(secret.encode() not in b for b in bodies)
    assert any(b"ann" in b for b in bodies)  # the rest of the body is kept


# -- queries


def test_latencies_only_for_exchanges_both_backends_answered(tmp_path: Path) -> None:
    with Store.open(tmp_path / "l.db") as s:
        run_id = start(s)
        s.add(run_id, outcome(1))
        s.add(run_id, outcome(2, status=Status.FAILED, legacy_error="connection refused"))
        s.add(run_id, outcome(3, status=Status.SKIPPED))
        s.add(run_id, outcome(4, endpoint="GET /b"))
        assert s.latencies(run_id) == {"GET /items/{id}": ([2.0], [3.0]), "GET /b": ([5.0], [6.0])}


def test_difference_groups(tmp_path: Path) -> None:
    price = Difference("changed", "$.price", 1, 2)
    name = Difference("type", "$.name", "x", 1)
    with Store.open(tmp_path / "g.db") as s:
        run_id = start(s)
        for i in range(10):
            diffs = (price, name) if i % 3 == 0 else (Difference("changed", "$.price", i, i + 1),)
            s.add(run_id, outcome(i, status=Status.MISMATCHED, differences=diffs, noise=(name,)))
        s.add(run_id, outcome(20, endpoint="GET /b", status=Status.MISMATCHED, differences=(price,)))
        groups = s.difference_groups(run_id, examples=3)
        noise = s.difference_groups(run_id, noise=True)
        ids = [x.id for x in s.exchanges(run_id)]
    assert [(g.endpoint, g.path, g.count) for g in groups] == [
        ("GET /items/{id}", "$.price", 10),
        ("GET /items/{id}", "$.name", 4),
        ("GET /b", "$.price", 1),
    ]
    first = groups[0]
    assert (first.legacy, first.candidate) == (1, 2)  # the first occurrence
    assert first.exchange_ids == tuple(ids[:3])
    assert groups[1].exchange_ids == (ids[0], ids[3], ids[6])
    assert [(g.path, g.count) for g in noise] == [("$.name", 10)]


# -- crash safety

_WRITER = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from tests.store.storehelpers import outcome, start
from paritycheck.store import Store
s = Store.open(sys.argv[1], batch=50)
run_id = start(s)
i = 0
while True:
    s.add(run_id, outcome(i))
    i += 1
    if i % 50 == 0:
        print(i, flush=True)
"""


def test_killed_writer_leaves_a_valid_database(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    script = _WRITER.format(root=str(ROOT), tests=str(ROOT / "tests" / "store"))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": ""}
    )
    assert proc.stdout is not None
    try:
        flushed = 0
        while flushed < 300:
            line = proc.stdout.readline()
            assert line, "the writer exited early"
            flushed = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with Store.open(db, create=False) as s:
        assert s.db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (run,) = s.runs()
        # its process is dead on this host: the next opening calls it crashed (store/liveness.py)
        assert run.status == "crashed" and run.ended is not None
        assert run.total >= flushed and run.total % 50 == 0
        assert [x.seq for x in s.exchanges(run.id)] == list(range(run.total))


def test_store_dropped_without_finishing_keeps_flushed_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "dropped.db"
    s = Store.open(db, batch=4)
    run_id = start(s)
    for i in range(6):
        s.add(run_id, outcome(i))
    s._conn.close()  # as if the process died: no flush, no finish_run
    with Store.open(db) as again:
        info = again.run(run_id)
        assert (info.status, info.total) == ("running", 4)
        nxt = start(again)
        again.add(nxt, outcome(1))
        again.finish_run(nxt, status="complete")
        assert again.run(nxt).total == 1


def test_stored_value_matches_what_the_store_returns(tmp_path: Path) -> None:
    value = {"a": [1, 2.5, None], "password": "x"}
    with Store.open(tmp_path / "v.db") as s:
        run_id = start(s)
        s.add(
            run_id,
            outcome(1, status=Status.MISMATCHED, differences=(Difference("changed", "$.obj", value, 7),)),
        )
        (x,) = s.exchanges(run_id)
    assert x.differences[0].legacy == store_mod.stored_value("$.obj", value)
