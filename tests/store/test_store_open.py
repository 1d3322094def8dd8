"""The results store: opening, and the versioned schema migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from paritycheck.errors import StoreError
from paritycheck.store import Store, migrations
from tests.store.storehelpers import outcome, raw, start

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
