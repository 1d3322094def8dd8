"""The SQLite results store: opening (versioned schema, WAL) and closing; writing and reading are in
:mod:`paritycheck.store.writer` and :mod:`paritycheck.store.queries`.

Everything written passes through :mod:`paritycheck.compare.redact` first: URLs, headers, bodies and the
difference values, so no secret reaches the file. Bodies are stored once per digest (sha256 of the
redacted body), zlib-compressed. The writer buffers outcomes and commits them in one transaction per
batch, so a run killed mid-way leaves a valid database holding every flushed exchange; its run stays
``running`` until a later command finds its process gone and calls it ``crashed`` (liveness.py).
Other features add tables by appending a function to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from paritycheck.errors import StoreError, StoreUnavailable
from paritycheck.models import Headers
from paritycheck.store.dsn import is_dsn, outage, redact_dsn
from paritycheck.store.findings import FindingRows
from paritycheck.store.liveness import reap_stale
from paritycheck.store.migrations import migrate
from paritycheck.store.names import EndpointNames
from paritycheck.store.queries import NO_DB_HINT, Queries
from paritycheck.store.rollout import RolloutSteps
from paritycheck.store.shards import Shards
from paritycheck.store.sqlitedb import SqliteDatabase
from paritycheck.store.writer import Writer

if TYPE_CHECKING:
    from paritycheck.store.childwriter import ChildWriter

BATCH = 500


# ---------------------------------------------------------------------------------------------- store


class Store(Writer, Queries, Shards, FindingRows, RolloutSteps, EndpointNames):
    """A results database. Writing is single-threaded: one writer per database at a time."""

    def __init__(
        self, db: SqliteDatabase, path: Path | str, *, batch: int = BATCH, dsn: str | None = None
    ) -> None:
        self.db = db
        self.path = path  # the file, or the PostgreSQL DSN with its password redacted (for messages)
        self.batch = batch
        self.dsn = dsn  # the PostgreSQL DSN, password included (for the writer child); None for SQLite
        self._conn: sqlite3.Connection = db.conn
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,) if dsn is None else _pg_errors()
        #: Errors that mean the database went away (PostgreSQL only): reported as such, not as a disk error.
        self.outages: tuple[type[Exception], ...] = () if dsn is None else _pg_outages()
        self._rows: list[tuple[Any, ...]] = []
        self._first_at = 0.0
        self._diffs: list[tuple[Any, ...]] = []  # first item: index of its exchange in _rows
        self._bodies: dict[str, tuple[bytes, int]] = {}
        self._seen: set[str] = set()
        self._seq: dict[int, int] = {}
        self._stride: dict[int, int] = {}  # run id -> shard count: a shard numbers every n-th seq
        self._child: ChildWriter | None = None
        self._redacted: dict[tuple[bytes, str | None, tuple[str, ...]], str] = {}
        self._header_texts: dict[tuple[Headers, tuple[str, ...]], str] = {}

    # -- opening

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, batch: int = BATCH) -> Store:
        """Open (and create or migrate) the database at ``path``: a SQLite file or a PostgreSQL DSN."""
        if is_dsn(path):
            return cls._open_postgres(str(path), batch=batch)
        path = Path(path)
        if path.is_dir():
            raise StoreError(
                f"{path} is a directory, not a results database", hint="pass a file path to --db"
            )
        if not path.exists():
            if not create:
                raise StoreError(f"no results database at {path}", hint=NO_DB_HINT)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder for {path}: {exc.strerror}", hint="pass a writable --db path"
                ) from None
        try:
            conn = sqlite3.connect(str(path))
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open {path}: {exc}", hint="pass a readable, writable --db path"
            ) from None
        try:
            db = SqliteDatabase(conn)
            conn.execute("PRAGMA busy_timeout = 5000")
            _prepare(conn, db, path)
            with contextlib.suppress(sqlite3.OperationalError):  # busy: the next command reaps them
                reap_stale(conn)  # a killed run reads "crashed" to every later command
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{path} is not a paritycheck results database ({exc})",
                hint="pass another --db path, or move that file away",
            ) from None
        except BaseException:
            conn.close()
            raise
        return cls(db, path, batch=batch)

    @classmethod
    def _open_postgres(cls, dsn: str, *, batch: int) -> Store:
        """Connect, migrate (one process at a time) and wrap the connection in the SQLite dialect."""
        from paritycheck.store import postgres  # psycopg loads only for a PostgreSQL store

        pg = postgres.connect(dsn)
        shown = redact_dsn(dsn)
        try:
            migrate(pg, shown)  # type: ignore[arg-type]  # PgDatabase speaks SqliteDatabase's four operations
            postgres.release_open_lock(pg)
            with contextlib.suppress(*postgres.ERRORS):  # the next command reaps them
                reap_stale(pg)  # a killed run (of this host, or silent for a minute) reads "crashed"
        except postgres.ERRORS as exc:
            pg.conn.close()
            raise StoreError(
                f"cannot migrate the results schema in {shown}: {' '.join(str(exc).split())}",
                hint="the user needs CREATE rights on the database's schema",
            ) from None
        except BaseException:
            pg.conn.close()
            raise
        return cls(pg, shown, batch=batch, dsn=dsn)  # type: ignore[arg-type]

    def close(self) -> None:
        """Flush what is buffered and close the connection."""
        try:
            self.flush()
        finally:
            try:
                if self._child is not None:
                    child, self._child = self._child, None
                    child.close()
            finally:
                self._conn.close()

    def lost(self, exc: BaseException) -> StoreUnavailable:
        """The error that names the outage behind ``exc`` (one of :attr:`outages`)."""
        return outage(str(self.path), exc)

    def abandon(self) -> None:
        """Close without writing what is buffered: the database went away (a PostgreSQL outage)."""
        self._rows, self._diffs, self._bodies = [], [], {}
        try:
            if self._child is not None:
                child, self._child = self._child, None
                child.child.close(timeout=5.0)
        finally:
            with contextlib.suppress(*self._errors):
                self._conn.close()

    def for_bulk_writes(self, batch: int) -> None:
        """Tune a connection that only writes (the writer child's): on SQLite, transactions of ``batch``
        outcomes, a page cache of 8 MB instead of 2 MB, and WAL checkpoints every 4,000 pages instead of
        1,000, so that each copies more pages at once into the database file. PostgreSQL keeps its
        transactions of one sent batch, so that an outage is told within a batch (issue 23)."""
        if self.dsn is None:
            self.batch = max(self.batch, batch)
            self._conn.execute("PRAGMA cache_size = -8000")
            self._conn.execute("PRAGMA wal_autocheckpoint = 4000")

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _prepare(conn: sqlite3.Connection, db: SqliteDatabase, path: Path) -> None:
    """WAL mode and the schema. Processes opening a new file at once (workers, shards) can meet SQLite's
    immediate "database is locked" while one of them switches the journal mode, which the busy timeout
    does not wait out: retry that a few times, with a growing pause."""
    for attempt in range(8):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(db, path)
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 7:
                raise
            time.sleep(0.05 * 2**attempt)


def _pg_errors() -> tuple[type[Exception], ...]:
    from paritycheck.store.postgres import ERRORS

    return ERRORS


def _pg_outages() -> tuple[type[Exception], ...]:
    from paritycheck.store.postgres import OUTAGES

    return OUTAGES
