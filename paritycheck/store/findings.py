"""The store's side of findings (paritycheck.findings): the difference rows the clustering reads, the
first occurrences' values, and the findings stored per run with their signatures.

Clustering runs above the store; this module only reads rows in the order the clustering needs (by
exchange) and keeps its result. Stored findings are a cache keyed by the clustering's version: they are
dropped whenever a run's differences change (noise flags, endpoint renames, a resume), and only complete
runs are stored, so a stored row always describes the run as it now is.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paritycheck.store.records import loads
from paritycheck.store.sqlitedb import SqliteDatabase

#: One difference as the clustering reads it: id, exchange id, endpoint, kind, shape, detail, and the
#: value class of each side (``null``, ``empty`` for "" [] {}, else "").
DifferenceRow = tuple[int, int, str, str, str, str, str, str]

_CLASS = "CASE d.{side} WHEN 'null' THEN 'null' WHEN '\"\"' THEN 'empty' WHEN '[]' THEN 'empty'" \
    " WHEN '{{}}' THEN 'empty' ELSE '' END"  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """One finding as stored with its run: enough for history and "first seen"."""

    run_id: int
    signature: str
    grade: str
    title: str
    exchanges: int
    differences: int


class FindingRows:
    """Findings methods of :class:`paritycheck.store.Store`."""

    db: SqliteDatabase
    dsn: str | None
    _conn: sqlite3.Connection
    _errors: tuple[type[Exception], ...]

    if TYPE_CHECKING:

        def flush(self) -> None: ...

    def difference_rows(self, run_id: int, *, by_exchange: bool = False) -> Iterator[DifferenceRow]:
        """The run's differences (not noise), the rows the clustering makes findings of.

        In insertion order, where each exchange's differences are next to each other (the writer
        inserts them together, in one transaction), read as one range of the table without a sort;
        ``by_exchange`` sorts them by exchange instead (slower), for a store written otherwise.
        """
        self.flush()
        low, high = self._conn.execute(
            "SELECT MIN(id), MAX(id) FROM differences WHERE run_id = ?", (run_id,)
        ).fetchone()
        if low is None:
            return
        # SQLite: a scan of the id range, not a search of an index followed by a sort.
        table = "differences d" + (" NOT INDEXED" if self.dsn is None else "")
        order = "d.exchange_id, d.id" if by_exchange else "d.id"
        cursor = self._conn.execute(
            "SELECT d.id, d.exchange_id, d.endpoint, d.kind, COALESCE(d.shape, d.path), d.detail,"
            f" {_CLASS.format(side='legacy')}, {_CLASS.format(side='candidate')} FROM {table}"
            f" WHERE d.id BETWEEN ? AND ? AND d.run_id = ? AND d.noise = 0 ORDER BY {order}",
            (low, high, run_id),
        )
        while chunk := cursor.fetchmany(4096):
            yield from chunk

    def refusals(self, run_id: int) -> dict[int, int]:
        """``{exchange id: status}`` of the run's exchanges both backends refused with one status."""
        self.flush()
        return dict(
            self._conn.execute(
                # mismatched: only exchanges with differences matter, and the index narrows to them
                "SELECT id, legacy_status FROM exchanges WHERE run_id = ? AND outcome = 'mismatched'"
                " AND legacy_status >= 400 AND candidate_status = legacy_status",
                (run_id,),
            )
        )

    def difference_values(
        self, ids: Iterable[int]
    ) -> dict[int, tuple[str, Any, Any, str | None, str | None]]:
        """``{id: (path, legacy, candidate, legacy wire path, candidate wire path)}`` of some differences."""
        wanted = sorted(set(ids))
        out: dict[int, tuple[str, Any, Any, str | None, str | None]] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for did, path, legacy, candidate, wire_a, wire_b in self._conn.execute(
                "SELECT id, path, legacy, candidate, legacy_path, candidate_path FROM differences"
                f" WHERE id IN ({', '.join('?' * len(part))})",
                part,
            ):
                out[did] = (path, loads(legacy), loads(candidate), wire_a, wire_b)
        return out

    def stored_findings(self, run_ids: Sequence[int], *, version: int) -> dict[int, list[StoredFinding]]:
        """The findings stored for those of ``run_ids`` worked out by clustering ``version``."""
        self.flush()
        out: dict[int, list[StoredFinding]] = {}
        for start in range(0, len(run_ids), 500):
            part = list(run_ids[start : start + 500])
            marks = ", ".join("?" * len(part))
            for (run_id,) in self._conn.execute(
                f"SELECT run_id FROM findings_runs WHERE version = ? AND run_id IN ({marks})",
                [version, *part],
            ):
                out[int(run_id)] = []
            rows = self._conn.execute(
                "SELECT run_id, signature, grade, title, exchanges, differences FROM findings"
                f" WHERE run_id IN ({marks}) ORDER BY run_id, id",
                part,
            )
            for run_id, *rest in rows:
                if int(run_id) in out:
                    out[int(run_id)].append(StoredFinding(int(run_id), *rest))
        return out

    def save_findings(self, run_id: int, rows: Sequence[StoredFinding], *, version: int) -> bool:
        """Store the findings of run ``run_id`` (replacing any); False when the store cannot be written
        (a read-only file): they are a cache, worked out again next time."""
        try:
            with self.db.atomic():
                self._forget_findings(run_id)
                self._conn.execute(
                    "INSERT OR IGNORE INTO findings_runs (run_id, version, computed) VALUES (?, ?, ?)",
                    (run_id, version, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
                )
                self._conn.executemany(
                    "INSERT OR IGNORE INTO findings (run_id, signature, grade, title, exchanges, differences)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(run_id, f.signature, f.grade, f.title, f.exchanges, f.differences) for f in rows],
                )
        except self._errors:
            return False
        return True

    def first_seen(self, signatures: Iterable[str], *, up_to: int) -> dict[str, int]:
        """For each signature, the first run (id ``<= up_to``) whose stored findings have it."""
        wanted = sorted(set(signatures))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for signature, run_id in self._conn.execute(
                "SELECT signature, MIN(run_id) FROM findings"
                f" WHERE run_id <= ? AND signature IN ({', '.join('?' * len(part))}) GROUP BY signature",
                [up_to, *part],
            ):
                out[signature] = int(run_id)
        return out

    def _forget_findings(self, run_id: int) -> None:
        """Drop the run's stored findings, inside the caller's write transaction: its differences change."""
        self._conn.execute("DELETE FROM findings WHERE run_id = ?", (run_id,))
        self._conn.execute("DELETE FROM findings_runs WHERE run_id = ?", (run_id,))
