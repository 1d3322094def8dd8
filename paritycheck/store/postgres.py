"""The PostgreSQL backend of the store: a thin adapter that lets the shared SQL run on psycopg 3.

The writer, the queries and the migrations are written once, in SQLite's dialect. This module gives
them a connection whose ``execute`` translates that dialect on the way in, so that columns and tables
other features add work on both backends unchanged:

- ``?`` placeholders become ``%s`` (a literal ``%`` is escaped);
- ``INSERT OR IGNORE`` becomes ``INSERT … ON CONFLICT DO NOTHING``; ``group_concat(x)`` becomes
  ``string_agg``; ``json_patch`` is a SQL function installed here (RFC 7396, as in SQLite);
- DDL types: ``INTEGER PRIMARY KEY`` is an identity column, ``INTEGER`` BIGINT, ``REAL`` DOUBLE
  PRECISION, ``BLOB`` BYTEA, and ``TEXT`` collates as "C" so that ORDER BY sorts as SQLite does;
- ``PRAGMA user_version`` reads and writes the ``paritycheck_schema`` table;
- ``BEGIN IMMEDIATE`` takes a transaction-scoped advisory lock: writers to one database take turns,
  as they do in SQLite, which keeps exchange ids allocated by the writer unique across processes.

Opening and migrating hold a session advisory lock, so shards that start together migrate once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from paritycheck.errors import StoreError, StoreUnavailable

#: Advisory lock keys (arbitrary constants): one for opening/migrating, one for write transactions.
_OPEN_LOCK = 0x70617269_0001
_WRITE_LOCK = 0x70617269_0002

_SETUP = [
    "CREATE TABLE IF NOT EXISTS paritycheck_schema (version BIGINT NOT NULL)",
    "INSERT INTO paritycheck_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM paritycheck_schema)",
    """
    CREATE OR REPLACE FUNCTION paritycheck_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE k text; v jsonb; result jsonb;
    BEGIN
        IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN RETURN patch; END IF;
        IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN result := '{}'::jsonb;
        ELSE result := target; END IF;
        FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
            IF jsonb_typeof(v) = 'null' THEN result := result - k;
            ELSE result := jsonb_set(result, ARRAY[k], paritycheck_merge_patch(result -> k, v)); END IF;
        END LOOP;
        RETURN result;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION json_patch(target text, patch text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT paritycheck_merge_patch(target::jsonb, patch::jsonb)::text $$
    """,
]


def is_dsn(location: object) -> bool:
    """Whether ``location`` (a --db value) names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def redact_dsn(dsn: str) -> str:
    """The DSN with its password (in the userinfo or a ``password=`` parameter) replaced by ``***``."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def display_location(location: object) -> str:
    """A --db value as it may be printed: a path as is, a DSN without its password."""
    return redact_dsn(str(location)) if is_dsn(location) else str(location)


# ------------------------------------------------------------------------------------- translation

_INTEGER_PK = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_TYPES = [
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
    (re.compile(r"\bTEXT\b", re.IGNORECASE), 'TEXT COLLATE "C"'),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\b", re.IGNORECASE), ")"),
]
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(\s*([\w.]+)\s*\)", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_COMMENTS = re.compile(r"^\s*--[^\n]*$", re.MULTILINE)
_SET_VERSION = re.compile(r"^\s*PRAGMA\s+user_version\s*=\s*(\d+)\s*$", re.IGNORECASE)


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite-dialect SQL as PostgreSQL runs it (see the module docstring for what changes)."""
    stripped = _COMMENTS.sub("", sql).strip()
    upper = stripped[:16].upper()
    if upper.startswith("PRAGMA"):
        if match := _SET_VERSION.match(stripped):
            return f"UPDATE paritycheck_schema SET version = {int(match[1])}"
        if re.fullmatch(r"PRAGMA\s+user_version", stripped, re.IGNORECASE):
            return "SELECT version FROM paritycheck_schema"
        return "SELECT 1"  # SQLite tuning (journal mode, timeouts) means nothing here
    if upper.startswith(("CREATE TABLE", "ALTER TABLE")):
        sql = _INTEGER_PK.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
        for pattern, replacement in _TYPES:
            sql = pattern.sub(replacement, sql)
    sql = _GROUP_CONCAT.sub(r"string_agg(CAST(\1 AS TEXT), ',')", sql)
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub("INSERT INTO", sql) + " ON CONFLICT DO NOTHING"
    return sql.replace("%", "%%").replace("?", "%s")


# -------------------------------------------------------------------------------------- connection


class PgCursor:
    """The parts of a sqlite3 cursor the store uses: iteration, fetch*, rowcount and lastrowid."""

    def __init__(self, conn: PgConnection, cursor: psycopg.Cursor[Any]) -> None:
        self._conn = conn
        self._cursor = cursor

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor) if self._cursor.description is not None else iter(())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description is not None else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The id the last INSERT drew from an identity column (PostgreSQL's ``lastval()``)."""
        row = self._conn.raw.execute("SELECT lastval()").fetchone()
        return None if row is None else int(row[0])


class PgConnection:
    """A psycopg connection in autocommit mode that speaks the store's SQLite dialect.

    Transactions are explicit, as the store writes them (``BEGIN IMMEDIATE`` … ``COMMIT``).
    """

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.in_transaction = False

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        head = sql.strip().upper()
        if head.startswith("BEGIN"):
            self.raw.execute("BEGIN")
            self.in_transaction = True
            if head.endswith("IMMEDIATE"):
                self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            return PgCursor(self, self.raw.cursor())
        if head in ("COMMIT", "ROLLBACK"):
            self.in_transaction = False
        cursor = self.raw.cursor()
        cursor.execute(translate(sql), tuple(parameters))
        return PgCursor(self, cursor)

    def executemany(self, sql: str, rows: Iterable[Any], /) -> PgCursor:
        cursor = self.raw.cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(translate(sql), rows)
        return PgCursor(self, cursor)

    def close(self) -> None:
        self.raw.close()


class PgDatabase:
    """What the store asks of ``sqlite_utils.Database``: conn, execute, atomic and table_names."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        return self.conn.execute(sql, parameters)

    @contextmanager
    def atomic(self) -> Iterator[PgDatabase]:
        """One transaction (the store never nests them), serialised with the other writers."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def table_names(self) -> list[str]:
        rows = self.conn.raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename <> 'paritycheck_schema'"
        ).fetchall()
        return [name for (name,) in rows]


def connect(dsn: str) -> PgDatabase:
    """Connect and set up the schema table and functions; a StoreError (exit 2) when that fails."""
    shown = redact_dsn(dsn)
    try:
        raw = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()).replace(dsn, shown)
        raise StoreError(
            f"cannot connect to PostgreSQL at {shown}: {_first_line(reason)}",
            hint="check that the server runs and accepts this host, port, user, password and database"
            " (--db or PARITYCHECK_DB)",
        ) from None
    db = PgDatabase(PgConnection(raw))
    try:
        raw.execute("SELECT pg_advisory_lock(%s)", (_OPEN_LOCK,))
        for statement in _SETUP:
            raw.execute(statement)
    except psycopg.Error as exc:
        raw.close()
        raise StoreError(
            f"cannot set up the results schema in {shown}: {_first_line(str(exc))}",
            hint="the user needs CREATE rights on the database's schema",
        ) from None
    return db


def release_open_lock(db: PgDatabase) -> None:
    """Let other processes open the database (after migrating)."""
    db.conn.raw.execute("SELECT pg_advisory_unlock(%s)", (_OPEN_LOCK,))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


ERRORS = (psycopg.Error,)
#: The server went away (stopped, restarted, unreachable): the connection is spent, no retry helps now.
OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError)


OUTAGE_HINT = (
    "the run stopped at once; what it stored is kept. Once the server is back, `paritycheck replay"
    " --resume` (same captures and --db) continues it"
)


def outage(shown: str, exc: BaseException) -> StoreUnavailable:
    """The error of a run whose PostgreSQL at ``shown`` went away mid-run, naming the outage."""
    return StoreUnavailable(
        f"lost the connection to PostgreSQL at {shown}: {_first_line(str(exc))}", hint=OUTAGE_HINT
    )
