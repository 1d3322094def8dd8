"""The results store: schema migrations, batched writing, redaction, dedupe, crash safety and queries."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from paritycheck import migrations
from paritycheck import store as store_mod
from paritycheck.errors import StoreError
from paritycheck.models import Difference, Exchange, Headers, Outcome, Reply, Request, Status
from paritycheck.store import Store, StoredExchange

ROOT = Path(__file__).resolve().parent.parent

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


# -- opening and migrations


def test_open_creates_folder_and_migrates_from_empty(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "results.db"
    with Store.open(db) as s:
        assert s.runs() == []
        assert s.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert raw(db, "PRAGMA user_version") == [(len(migrations.MIGRATIONS),)]
    tables = {name for (name,) in raw(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "exchanges", "differences", "bodies"} <= tables


def test_reopen_keeps_runs(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as s:
        run_id = start(s)
        s.add(run_id, outcome(1))
        s.finish_run(run_id, status="complete")
    with Store.open(db, create=False) as s:
        assert [r.id for r in s.runs()] == [run_id]
        assert s.run(run_id).total == 1
        second = start(s)
        assert second > run_id
        assert s.previous_run_id(second) == run_id
        assert s.previous_run_id(run_id) is None
        assert s.latest_run_id() == second


def test_missing_database_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path / "nope.db", create=False)
    assert "nope.db" in str(info.value)
    assert info.value.hint is not None and "paritycheck replay" in info.value.hint
    assert not (tmp_path / "nope.db").exists()


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is plain text, not SQLite " * 100)
    with pytest.raises(StoreError, match=r"notes\.db"):
        Store.open(bogus)


def test_database_of_another_program_is_not_written_into(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="customers"):
        Store.open(other)
    assert raw(other, "PRAGMA user_version") == [(0,)]


def test_database_from_a_newer_paritycheck(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    Store.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(migrations.MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer paritycheck") as info:
        Store.open(db)
    assert info.value.hint is not None and "upgrade" in info.value.hint


def test_appended_migration_runs_once_on_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "m.db"
    with Store.open(db) as s:
        start(s)
    calls = []

    def add_gate_results(database: Any) -> None:
        calls.append(1)
        database.conn.execute(
            "CREATE TABLE gate_results (run_id INTEGER REFERENCES runs(id), passed INTEGER)"
        )

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, add_gate_results])
    Store.open(db).close()
    Store.open(db).close()
    assert calls == [1]
    assert raw(db, "PRAGMA user_version") == [(len(migrations.MIGRATIONS),)]
    assert raw(db, "SELECT COUNT(*) FROM runs") == [(1,)]
    assert raw(db, "SELECT COUNT(*) FROM gate_results") == [(0,)]


def test_failing_migration_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "f.db"
    Store.open(db).close()
    before = len(migrations.MIGRATIONS)

    def broken(database: Any) -> None:
        database.conn.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        Store.open(db)
    assert raw(db, "PRAGMA user_version") == [(before,)]
    assert raw(db, "SELECT name FROM sqlite_master WHERE name = 'half_done'") == []


# -- runs


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
from test_store import outcome, start
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
    script = _WRITER.format(root=str(ROOT), tests=str(ROOT / "tests"))
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
        assert run.status == "running" and run.ended is None
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


def _dump(path: Path) -> list[Any]:
    """Everything a run wrote, without ids and times that legitimately differ between two files."""
    return [
        raw(
            path,
            "SELECT seq, method, url, endpoint, outcome, legacy_body, candidate_body, again_body, reason"
            " FROM exchanges ORDER BY seq",
        ),
        raw(
            path,
            "SELECT e.seq, d.kind, d.path, d.legacy, d.candidate, d.noise FROM differences d"
            " JOIN exchanges e ON e.id = d.exchange_id ORDER BY e.seq, d.path",
        ),
        raw(path, "SELECT digest, size FROM bodies ORDER BY digest"),
    ]


def _mixed_outcomes(n: int) -> list[Outcome]:
    return [
        outcome(
            i,
            status=Status.MISMATCHED if i % 3 == 0 else Status.MATCHED,
            differences=(Difference("changed", "$.name", "a", {"b": [1]}),) if i % 3 == 0 else (),
            noise=(Difference("changed", "$.rid", i, -i),) if i % 5 == 0 else (),
            body=b'{"same": true}' if i % 2 else None,
            request_headers=(("authorization", "Bearer s3cret-token-value"),),
            again=i % 7 == 0,
        )
        for i in range(n)
    ]


def test_child_writer_stores_exactly_what_the_parent_would(tmp_path: Path) -> None:
    outcomes = _mixed_outcomes(1234)
    for name, child in (("parent.db", False), ("child.db", True)):
        with Store.open(tmp_path / name, batch=100) as s:
            run_id = start(s)
            if child:
                s.write_in_child()
            for o in outcomes[:600]:
                s.add(run_id, o)
            # a read in the middle sees everything added before it
            assert sum(1 for _ in s.exchanges(run_id)) == 600
            for o in outcomes[600:]:
                s.add(run_id, o)
            s.finish_run(run_id, status="complete")
            assert s.run(run_id).total == len(outcomes)
    assert _dump(tmp_path / "parent.db") == _dump(tmp_path / "child.db")
    assert b"s3cret-token-value" not in (tmp_path / "child.db").read_bytes()


def test_child_writer_errors_surface_as_store_errors_and_the_child_is_reaped(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "r.db", batch=10)
    run_id = start(s)
    s.write_in_child()
    s.add(run_id, outcome(0))
    s.flush()
    with sqlite3.connect(tmp_path / "r.db") as other:
        other.execute("DROP TABLE differences")
    s.add(run_id, outcome(1, status=Status.MISMATCHED, differences=(Difference("changed", "$.x", 1, 2),)))
    with pytest.raises(StoreError, match="differences"):
        s.flush()
    writer = s._child
    assert writer is not None
    with pytest.raises(StoreError, match="differences"):  # as in-process: the batch is not dropped silently
        s.close()
    assert writer.child.process.returncode is not None  # the child exited and was reaped
