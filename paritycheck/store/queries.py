"""The store's reading half: runs, exchanges, bodies, counts, latencies, difference groups, noise and
contract checks, as the records of :mod:`paritycheck.store.records`."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from paritycheck.common.endpoints import split_target
from paritycheck.compare import redact
from paritycheck.errors import StoreError
from paritycheck.models import Difference, Status
from paritycheck.store.migrations import EXCHANGE_COLUMNS
from paritycheck.store.records import (
    ContractCheck,
    DifferenceGroup,
    NoisePath,
    RunInfo,
    StoredExchange,
    StoredViolation,
    exchange_from_row,
    loads,
)

NO_DB_HINT = "run `paritycheck replay` first"


class Queries:
    """Reading methods of :class:`paritycheck.store.Store`."""

    path: Path | str
    _conn: sqlite3.Connection
    _seq: dict[int, int]
    _stride: dict[int, int]

    if TYPE_CHECKING:  # provided by paritycheck.store.writer.Writer

        def flush(self) -> None: ...

    # -- reading

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        self.flush()
        return [self._run_info(row) for row in self._conn.execute(f"{_RUN_SELECT} ORDER BY id")]

    def run(self, run_id: int) -> RunInfo:
        """Run ``run_id``, or a StoreError listing the runs there are."""
        self.flush()
        row = self._conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            ids = [r for (r,) in self._conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 10")]
            known = ", ".join(map(str, reversed(ids))) if ids else "none"
            raise StoreError(
                f"no run {run_id} in {self.path}",
                hint=f"latest runs there: {known}; omit the run id to use the latest",
            )
        return self._run_info(row)

    def latest_run_id(self) -> int:
        """The id of the newest run."""
        (run_id,) = self._conn.execute("SELECT MAX(id) FROM runs").fetchone()
        if run_id is None:
            raise StoreError(f"no runs in {self.path}", hint=NO_DB_HINT)
        return int(run_id)

    def previous_run_id(self, run_id: int) -> int | None:
        """The id of the run before ``run_id``, if any."""
        (prev,) = self._conn.execute("SELECT MAX(id) FROM runs WHERE id < ?", (run_id,)).fetchone()
        return None if prev is None else int(prev)

    def exchanges(
        self,
        run_id: int,
        *,
        endpoint: str | None = None,
        outcome: str | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredExchange]:
        """Stored outcomes of a run in arrival order, with their differences."""
        self.flush()
        sql = f"SELECT id, {EXCHANGE_COLUMNS} FROM exchanges WHERE run_id = ?"
        params: list[Any] = [run_id]
        if endpoint is not None:
            sql += " AND endpoint = ?"
            params.append(endpoint)
        if outcome is not None:
            sql += " AND outcome = ?"
            params.append(outcome)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        cursor = self._conn.execute(sql, params)
        while chunk := cursor.fetchmany(256):
            ids = [row[0] for row in chunk]
            found: dict[int, tuple[list[Difference], list[Difference]]] = {i: ([], []) for i in ids}
            for exchange_id, kind, path, legacy, candidate, noise, wire_a, wire_b in self._conn.execute(
                "SELECT exchange_id, kind, path, legacy, candidate, noise, legacy_path, candidate_path"
                " FROM differences"
                f" WHERE exchange_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                found[exchange_id][noise].append(
                    Difference(kind, path, loads(legacy), loads(candidate), wire_a, wire_b)
                )
            for row in chunk:
                diffs, noise_diffs = found[row[0]]
                yield exchange_from_row(row, tuple(diffs), tuple(noise_diffs))

    def requests_sent(self) -> Iterator[tuple[str, str, int]]:
        """Distinct (method, path, legacy status) of the exchanges that the legacy answered, in any run."""
        self.flush()
        rows = self._conn.execute(
            "SELECT DISTINCT method, url, legacy_status FROM exchanges"
            " WHERE outcome != 'skipped' AND legacy_status IS NOT NULL AND legacy_error IS NULL"
        )
        for method, url, status in rows:
            yield method, split_target(url)[0], status

    def body(self, digest: str) -> bytes:
        """The redacted body stored under ``digest``."""
        self.flush()
        row = self._conn.execute("SELECT data FROM bodies WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise StoreError(
                f"no body {digest} in {self.path}", hint="take digests from the stored exchanges"
            )
        return zlib.decompress(row[0])

    def counts(self, run_id: int) -> dict[str, dict[str, int]]:
        """Per endpoint, the number of exchanges per outcome."""
        self.flush()
        result: dict[str, dict[str, int]] = {}
        for endpoint, outcome, n in self._conn.execute(
            "SELECT endpoint, outcome, COUNT(*) FROM exchanges WHERE run_id = ? GROUP BY endpoint, outcome",
            (run_id,),
        ):
            result.setdefault(endpoint, {})[outcome] = n
        return result

    def reasons(self, run_id: int, outcome: str, *, limit: int = 500) -> list[tuple[str, str, int]]:
        """``(endpoint, reason, count)`` of the ``outcome`` (failed or skipped) exchanges, most first."""
        self.flush()
        rows = self._conn.execute(
            "SELECT endpoint, COALESCE(reason, ''), COUNT(*) AS n FROM exchanges"
            " WHERE run_id = ? AND outcome = ? GROUP BY endpoint, reason ORDER BY n DESC, endpoint LIMIT ?",
            (run_id, outcome, limit),
        )
        return [(endpoint, reason, n) for endpoint, reason, n in rows]

    def stored_entries(self, run_id: int) -> set[tuple[str, int]]:
        """``(source, entry)`` of every exchange stored for the run (what ``replay --resume`` skips)."""
        self.flush()
        rows = self._conn.execute("SELECT source, entry FROM exchanges WHERE run_id = ?", (run_id,))
        return {(source, int(entry)) for source, entry in rows}

    def answered(self, run_id: int) -> tuple[int, int, int]:
        """``(replayed, legacy answered, candidate answered)``: replayed exchanges, and how many of them
        each backend answered (no transport error). A side with 0 answered nothing in that run."""
        self.flush()
        replayed, legacy, candidate = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN legacy_error IS NULL THEN 1 ELSE 0 END), 0),"
            " COALESCE(SUM(CASE WHEN candidate_error IS NULL THEN 1 ELSE 0 END), 0)"
            " FROM exchanges WHERE run_id = ? AND outcome != 'skipped'",
            (run_id,),
        ).fetchone()
        return int(replayed), int(legacy), int(candidate)

    def latencies(self, run_id: int) -> dict[str, tuple[list[float], list[float]]]:
        """Per endpoint, legacy and candidate ms of the exchanges where both backends answered."""
        self.flush()
        result: dict[str, tuple[list[float], list[float]]] = {}
        for endpoint, legacy, candidate in self._conn.execute(
            "SELECT endpoint, legacy_ms, candidate_ms FROM exchanges WHERE run_id = ?"
            " AND legacy_status IS NOT NULL AND candidate_status IS NOT NULL"
            " AND legacy_error IS NULL AND candidate_error IS NULL ORDER BY endpoint, seq",
            (run_id,),
        ):
            pair = result.get(endpoint)
            if pair is None:
                pair = result[endpoint] = ([], [])
            pair[0].append(legacy)
            pair[1].append(candidate)
        return result

    def stream_bodies(self, run_id: int) -> list[tuple[str, str, str]]:
        """``(endpoint, legacy body digest, candidate body digest)`` of the replayed streams of a run
        (docs/streams.md): their records hold the time to first event and the round trips."""
        self.flush()
        marker = "%application/vnd.paritycheck.stream+json%"
        return list(
            self._conn.execute(
                "SELECT endpoint, legacy_body, candidate_body FROM exchanges WHERE run_id = ?"
                " AND legacy_headers LIKE ? AND candidate_headers LIKE ? AND legacy_error IS NULL"
                " AND candidate_error IS NULL AND legacy_body IS NOT NULL AND candidate_body IS NOT NULL"
                " ORDER BY endpoint, seq",
                (run_id, marker, marker),
            )
        )

    def difference_groups(
        self, run_id: int, *, noise: bool = False, examples: int = 5
    ) -> list[DifferenceGroup]:
        """Differences grouped by finding: (endpoint, kind, shape, detail), most frequent first.

        The shape is the path with array indexes as ``[*]``; the detail is the status or type pair
        (:mod:`paritycheck.compare.grade`). Each group carries the first occurrence's values, path and
        wire paths (where normalisation renamed a key), and up to ``examples`` exchange ids. With
        ``noise=True`` the differences classed as noise are grouped instead.
        """
        self.flush()
        rows = self._conn.execute(
            """
            WITH ranked AS (
                SELECT endpoint, kind, COALESCE(shape, path) AS shape, detail, path, exchange_id, legacy,
                       candidate, legacy_path, candidate_path,
                       ROW_NUMBER() OVER (
                           PARTITION BY endpoint, kind, COALESCE(shape, path), detail ORDER BY id
                       ) AS rn,
                       COUNT(*) OVER (PARTITION BY endpoint, kind, COALESCE(shape, path), detail) AS n
                FROM differences WHERE run_id = ? AND noise = ?
            )
            SELECT endpoint, kind, shape, detail, MAX(n) AS n,
                   MAX(CASE WHEN rn = 1 THEN legacy END), MAX(CASE WHEN rn = 1 THEN candidate END),
                   MAX(CASE WHEN rn = 1 THEN path END), group_concat(exchange_id),
                   MAX(CASE WHEN rn = 1 THEN legacy_path END), MAX(CASE WHEN rn = 1 THEN candidate_path END)
            FROM ranked WHERE rn <= ? GROUP BY endpoint, kind, shape, detail
            ORDER BY n DESC, endpoint, kind, shape, detail
            """,
            (run_id, int(noise), max(1, examples)),
        )
        return [
            DifferenceGroup(
                endpoint,
                kind,
                shape,
                n,
                loads(legacy),
                loads(candidate),
                tuple(sorted(int(i) for i in ids.split(","))),
                detail=detail,
                example_path=path,
                legacy_wire=wire_a,
                candidate_wire=wire_b,
            )
            for endpoint, kind, shape, detail, n, legacy, candidate, path, ids, wire_a, wire_b in rows
        ]

    def noise_paths(self, run_id: int) -> list[NoisePath]:
        """The noise paths stored with run ``run_id``, by endpoint and path."""
        self.run(run_id)
        return [
            NoisePath(endpoint, path, samples, differed, raw, total, reason, tuple(orjson.loads(kinds)))
            for endpoint, path, samples, differed, raw, total, reason, kinds in self._conn.execute(
                "SELECT endpoint, path, samples, differed, raw, total, reason, kinds FROM noise_paths"
                " WHERE run_id = ? ORDER BY endpoint, path",
                (run_id,),
            )
        ]

    # -- contract checks (paritycheck.contract)

    def last_seq(self, run_id: int) -> int:
        """The sequence number of the exchange most recently added to run ``run_id`` by this store."""
        return self._seq[run_id] - self._stride.get(run_id, 1)

    def contract_checks(self, run_id: int) -> list[ContractCheck]:
        """The contract checks of run ``run_id``, oldest first."""
        self.flush()
        return [
            ContractCheck(
                cid, rid, spec, digest, title, mode, checked, None if summary is None else loads(summary)
            )
            for cid, rid, spec, digest, title, mode, checked, summary in self._conn.execute(
                "SELECT id, run_id, spec, digest, title, mode, checked, summary FROM contract_checks"
                " WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
        ]

    def contract_violations(self, check_id: int, *, side: str | None = None) -> Iterator[StoredViolation]:
        """The violations of one contract check, by operation, side and arrival."""
        sql = (
            "SELECT exchange_id, side, operation, status, path, keyword, message, value"
            " FROM contract_violations WHERE check_id = ?"
        )
        params: list[Any] = [check_id]
        if side is not None:
            sql += " AND side = ?"
            params.append(side)
        for xid, side_, operation, status, path, keyword, message, value in self._conn.execute(
            sql + " ORDER BY operation, side, id", params
        ):
            yield StoredViolation(xid, side_, operation, status, path, keyword, message, loads(value))

    # -- helpers

    def _outcome_counts(self, run_id: int) -> dict[str, int]:
        return dict(
            self._conn.execute(
                "SELECT outcome, COUNT(*) FROM exchanges WHERE run_id = ? GROUP BY outcome", (run_id,)
            )
        )

    def _run_info(self, row: tuple[Any, ...]) -> RunInfo:
        run_id, started, ended, status, version, config, backends, captures, *totals, meta, name = row
        if totals[0] is None:  # never finished: count what was flushed
            counts = self._outcome_counts(run_id)
            totals = [sum(counts.values()), *(counts.get(s.value, 0) for s in Status)]
        total, matched, mismatched, failed, skipped = totals
        loads = orjson.loads
        # Redacted again as read: runs stored before backend URLs were redacted kept their credentials.
        with redact.unkeyed():
            shown = {
                side: redact.url(url) if isinstance(url, str) else url
                for side, url in loads(backends).items()
            }
        return RunInfo(
            run_id, started, ended, status, version, loads(config), shown, loads(captures),
            total, matched, mismatched, failed, skipped, loads(meta), name,
        )  # fmt: skip


_RUN_SELECT = (
    "SELECT id, started, ended, status, tool_version, config, backends, captures,"
    " total, matched, mismatched, failed, skipped, meta, name FROM runs"
)
