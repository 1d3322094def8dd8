"""The SQLite connection as the store uses it: ``conn``, ``execute``, ``atomic`` and ``table_names``.

The store asked no more than this of ``sqlite_utils.Database`` (postgres.py's ``PgDatabase`` offers the
same four), and importing sqlite-utils cost every process that opens a store 60-110 ms of CPU: it loads
click, dateutil and tabulate, and numpy and pandas whenever they are installed beside it. A replay
opens the store in the command, its writer child and each worker, a live listener in its helper and
its writer child; a data team's virtual environment has pandas. So this is our own, and small.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SqliteDatabase"]

_CONTROL = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")


class SqliteDatabase:
    """A ``sqlite3`` connection (default transaction handling) with the store's four operations."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run one statement. A write outside a transaction is committed at once (the driver would
        otherwise leave the implicit transaction it opened for it open, holding the write lock)."""
        was_open = self.conn.in_transaction
        try:
            cursor = self.conn.execute(sql, parameters)
        except Exception:
            if not was_open and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        opened = not was_open and self.conn.in_transaction and cursor.description is None
        if opened and not sql.lstrip().upper().startswith(_CONTROL):
            self.conn.execute("COMMIT")
        return cursor

    @contextmanager
    def atomic(self) -> Iterator[SqliteDatabase]:
        """One transaction; nested in another, a savepoint of it."""
        if self.conn.in_transaction:
            name = f"paritycheck_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may have ended the whole transaction already
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if _open(self.conn):  # (a function: the check above does not hold any more)
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            if _open(self.conn):
                self.conn.execute("ROLLBACK")
            raise

    def table_names(self) -> list[str]:
        return [name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def _open(conn: sqlite3.Connection) -> bool:
    return conn.in_transaction
