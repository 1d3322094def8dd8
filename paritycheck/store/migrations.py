"""Versioned schema of the results database: an ordered list of migrations and the code that runs them.

The schema version is ``PRAGMA user_version``; migration ``i`` of :data:`MIGRATIONS` brings it from
``i`` to ``i + 1`` inside one transaction (DDL is transactional in SQLite), so a crash leaves the old
version intact. A feature that needs a table appends a function here; a released one is never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paritycheck.common.endpoints import endpoint_shape
from paritycheck.errors import StoreError
from paritycheck.store.sqlitedb import SqliteDatabase


def _v1(db: SqliteDatabase) -> None:
    """Runs, exchanges, their differences, and bodies stored once per digest."""
    _script(
        db,
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            ended TEXT,
            status TEXT NOT NULL,
            tool_version TEXT NOT NULL,
            config TEXT NOT NULL,
            backends TEXT NOT NULL,
            captures TEXT NOT NULL,
            total INTEGER, matched INTEGER, mismatched INTEGER, failed INTEGER, skipped INTEGER,
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE bodies (
            digest TEXT PRIMARY KEY,
            data BLOB NOT NULL,
            size INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE exchanges (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            seq INTEGER NOT NULL,
            source TEXT NOT NULL,
            entry INTEGER NOT NULL,
            method TEXT NOT NULL,
            url TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            request_headers TEXT NOT NULL,
            request_body TEXT,
            legacy_status INTEGER, legacy_ms REAL, legacy_headers TEXT, legacy_body TEXT, legacy_error TEXT,
            candidate_status INTEGER, candidate_ms REAL, candidate_headers TEXT, candidate_body TEXT,
            candidate_error TEXT,
            again_status INTEGER, again_ms REAL, again_body TEXT, again_error TEXT,
            outcome TEXT NOT NULL,
            reason TEXT,
            UNIQUE (run_id, seq)
        );
        CREATE INDEX exchanges_run_endpoint ON exchanges (run_id, endpoint, outcome);
        CREATE INDEX exchanges_run_outcome ON exchanges (run_id, outcome, seq);
        -- endpoint is copied from the exchange so that grouping needs no join
        CREATE TABLE differences (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            exchange_id INTEGER NOT NULL REFERENCES exchanges(id),
            endpoint TEXT NOT NULL,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            legacy TEXT NOT NULL,
            candidate TEXT NOT NULL,
            noise INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX differences_exchange ON differences (exchange_id);
        CREATE INDEX differences_group ON differences (run_id, noise, endpoint, kind, path, id);
        """,
    )


def _v2(db: SqliteDatabase) -> None:
    """Contract checks of a run (spec name, digest, mode, report summary) and their violations."""
    _script(
        db,
        """
        CREATE TABLE contract_checks (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            spec TEXT NOT NULL,
            digest TEXT NOT NULL,
            title TEXT NOT NULL,
            mode TEXT NOT NULL,
            checked TEXT NOT NULL,
            summary TEXT
        );
        CREATE INDEX contract_checks_run ON contract_checks (run_id, id);
        -- exchange_id is NULL only when the exchange was never stored (an interrupted run)
        CREATE TABLE contract_violations (
            id INTEGER PRIMARY KEY,
            check_id INTEGER NOT NULL REFERENCES contract_checks(id),
            run_id INTEGER NOT NULL REFERENCES runs(id),
            exchange_id INTEGER REFERENCES exchanges(id),
            side TEXT NOT NULL,
            operation TEXT NOT NULL,
            status INTEGER NOT NULL,
            path TEXT NOT NULL,
            keyword TEXT NOT NULL,
            message TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX contract_violations_check ON contract_violations (check_id, operation, side, id);
        CREATE INDEX contract_violations_exchange ON contract_violations (exchange_id);
        """,
    )


def _v3(db: SqliteDatabase) -> None:
    """Noise paths learned in a run: per (endpoint, wildcard path) the A/A and raw evidence."""
    _script(
        db,
        """
        CREATE TABLE noise_paths (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            endpoint TEXT NOT NULL,
            path TEXT NOT NULL,
            samples INTEGER NOT NULL,
            differed INTEGER NOT NULL,
            raw INTEGER NOT NULL,
            total INTEGER NOT NULL,
            reason TEXT NOT NULL,
            kinds TEXT NOT NULL DEFAULT '[]',
            UNIQUE (run_id, endpoint, path)
        );
        """,
    )


def _v4(db: SqliteDatabase) -> None:
    """Drop the (run_id, outcome, seq) index: it cost ~8 us of the ~55 us of writing each outcome
    (measured on 20,000 distinct 1 KB outcomes), and the few reads by outcome (report reasons, a
    filtered exchange listing) scan one run through the (run_id, seq) unique index quickly enough."""
    _script(db, "DROP INDEX IF EXISTS exchanges_run_outcome;")


def _v5(db: SqliteDatabase) -> None:
    """Group differences by finding (issue 12): ``shape`` is the path with array indexes as ``[*]``,
    ``detail`` the status or type pair that makes two differences of one shape the same finding. Rows
    written before have neither: their path and an empty detail stand in (see the queries)."""
    _script(
        db,
        """
        ALTER TABLE differences ADD COLUMN shape TEXT;
        ALTER TABLE differences ADD COLUMN detail TEXT NOT NULL DEFAULT '';
        CREATE INDEX differences_finding ON differences (run_id, noise, endpoint, kind, shape, detail, id);
        """,
    )


def _v6(db: SqliteDatabase) -> None:
    """Run names: the shards of one run (``replay --shard I/N --run-name NAME``) find it by name."""
    _script(
        db,
        """
        ALTER TABLE runs ADD COLUMN name TEXT;
        CREATE UNIQUE INDEX runs_name ON runs (name);
        """,
    )


def _v7(db: SqliteDatabase) -> None:
    """Each difference's wire paths, where normalisation renamed a key (issue 12.7); NULL: as ``path``."""
    _script(
        db,
        "ALTER TABLE differences ADD COLUMN legacy_path TEXT;"
        " ALTER TABLE differences ADD COLUMN candidate_path TEXT;",
    )


def _v8(db: SqliteDatabase) -> None:
    """Who runs a run: pid and host of its process and a heartbeat it refreshes, so that a run whose
    process was killed (SIGKILL, OOM, power loss) can be told apart from one still going."""
    _script(
        db,
        """
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        ALTER TABLE runs ADD COLUMN host TEXT;
        ALTER TABLE runs ADD COLUMN heartbeat TEXT;
        """,
    )


def _v9(db: SqliteDatabase) -> None:
    """Noise evidence per shard (issue 15): each shard of a sharded run stores what its A/A re-asks and
    comparisons showed, so that the run is classified once, on the evidence of every shard. ``learned``
    marks the differences flagged by that classification (not those classed as noise when compared),
    so that a reclassification with more evidence can undo them."""
    _script(
        db,
        """
        CREATE TABLE noise_evidence (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            shard INTEGER NOT NULL,
            evidence TEXT NOT NULL
        );
        CREATE INDEX noise_evidence_run ON noise_evidence (run_id);
        ALTER TABLE differences ADD COLUMN learned INTEGER NOT NULL DEFAULT 0;
        """,
    )


def _v10(db: SqliteDatabase) -> None:
    """Findings of a run (issue 21): one row per root cause with its stable signature, so that history,
    ``first seen`` and accepted differences key on it without clustering every earlier run again.
    ``findings_runs`` says a run's findings were worked out (a run may have none) and by which version
    of the clustering; both are dropped when the run's differences change (noise, renames, resume)."""
    _script(
        db,
        """
        CREATE TABLE findings_runs (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id),
            version INTEGER NOT NULL,
            computed TEXT NOT NULL
        );
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            signature TEXT NOT NULL,
            grade TEXT NOT NULL,
            title TEXT NOT NULL,
            exchanges INTEGER NOT NULL,
            differences INTEGER NOT NULL,
            UNIQUE (run_id, signature)
        );
        CREATE INDEX findings_signature ON findings (signature, run_id);
        """,
    )


def _v11(db: SqliteDatabase) -> None:
    """Rollout steps (issue 24): when each step of a traffic shift began, with the criteria it was
    judged by, and the verdicts ``rollout status`` gave on it (the report draws them as a timeline)."""
    _script(
        db,
        """
        CREATE TABLE rollout_steps (
            id INTEGER PRIMARY KEY,
            step INTEGER NOT NULL,
            label TEXT NOT NULL,
            share REAL NOT NULL,
            started TEXT NOT NULL,
            plan TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE rollout_checks (
            id INTEGER PRIMARY KEY,
            step_id INTEGER NOT NULL REFERENCES rollout_steps(id),
            checked TEXT NOT NULL,
            decision TEXT NOT NULL,
            verdict TEXT NOT NULL
        );
        CREATE INDEX rollout_checks_step ON rollout_checks (step_id, id);
        """,
    )


def _v12(db: SqliteDatabase) -> None:
    """Endpoint names the store remembers (issue 21.7), so later runs and live windows name endpoints as
    earlier ones did: templates (a run's, learned or automatic; a spec's path or an ``[[endpoint]]``
    pattern: ``source`` "spec") and literals kept beside a template. ``shape`` is the name with its
    parameters unnamed (``GET /kpis/{}``). The templates of the runs already stored are remembered."""
    _script(
        db,
        """
        CREATE TABLE endpoint_names (
            name TEXT PRIMARY KEY,
            shape TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            run_id INTEGER NOT NULL
        );
        CREATE INDEX endpoint_names_shape ON endpoint_names (shape);
        """,
    )
    rows = db.conn.execute(
        "SELECT endpoint, MIN(run_id) FROM exchanges WHERE endpoint LIKE '%{%' GROUP BY endpoint"
    ).fetchall()
    db.conn.executemany(
        "INSERT OR IGNORE INTO endpoint_names (name, shape, kind, source, run_id) VALUES (?, ?, ?, ?, ?)",
        [(name, endpoint_shape(name), "template", "learned", run_id) for name, run_id in rows],
    )


#: Ordered schema migrations; migration i brings the schema to version i + 1 (PRAGMA user_version).
#: Append new ones at the end; never edit, remove or reorder a released one.
MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12,
]  # fmt: skip


def _script(db: SqliteDatabase, sql: str) -> None:
    """Run DDL statements inside the migration's transaction (executescript would commit first)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def migrate(db: SqliteDatabase, path: Path | str) -> None:
    """Bring the database to the newest schema, one transaction per migration."""
    conn = db.conn
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path} was written by a newer paritycheck"
            f" (schema version {version}; this one knows up to {len(MIGRATIONS)})",
            hint="upgrade paritycheck, or pass another --db path",
        )
    # Version 0 with tables: some other program's database, which must not be written into.
    # (Re-read: a process that started at the same moment may have just created them, as version 1.)
    if (
        version == 0
        and (tables := db.table_names())
        and not conn.execute("PRAGMA user_version").fetchone()[0]
    ):
        raise StoreError(
            f"{path} is a database of something else (tables: {', '.join(sorted(tables)[:5])})",
            hint="pass another --db path",
        )
    for number in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process (a shard starting at the same moment) may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] <= number:
                MIGRATIONS[number](db)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


#: The columns of an exchange row, in the order the writer inserts them and the queries read them.
EXCHANGE_COLUMNS = (
    "run_id, seq, source, entry, method, url, endpoint, request_headers, request_body,"
    " legacy_status, legacy_ms, legacy_headers, legacy_body, legacy_error,"
    " candidate_status, candidate_ms, candidate_headers, candidate_body, candidate_error,"
    " again_status, again_ms, again_body, again_error, outcome, reason"
)
