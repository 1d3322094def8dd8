"""SQLite results store: versioned schema, a batching single writer, and the queries reports need.

Everything written passes through :mod:`paritycheck.redact` first: URLs, headers, bodies and the
difference values, so no secret reaches the file. Bodies are stored once per digest (sha256 of the
redacted body), zlib-compressed. The writer buffers outcomes and commits them in one transaction per
batch, so a run killed mid-way leaves a valid database holding every flushed exchange; its run stays
``running``. Other features add tables by appending a function to :data:`MIGRATIONS`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson
import sqlite_utils

from paritycheck import redact
from paritycheck.errors import StoreError
from paritycheck.migrations import migrate
from paritycheck.models import Difference, Headers, Outcome, Reply, Status, header
from paritycheck.noise import NoisePath
from paritycheck.records import (
    ContractCheck,
    DifferenceGroup,
    RunInfo,
    StoredExchange,
    StoredReply,
    StoredViolation,
    dumps,
    exchange_from_row,
    loads,
    redact_value,
    stored_value,
)

if TYPE_CHECKING:
    from paritycheck.storeproc import ChildWriter

__all__ = [  # the records live in paritycheck.records; they are re-exported here for callers
    "ContractCheck",
    "DifferenceGroup",
    "RunInfo",
    "Store",
    "StoredExchange",
    "StoredReply",
    "StoredViolation",
    "redact_value",
    "stored_value",
]

FINISHED = ("complete", "interrupted", "failed")
RUNNING = "running"
BATCH = 500
#: zlib level for bodies: on ~1 KB JSON, level 1 takes ~7 us against ~10 us for 6, for 2% more bytes
#: (bench/store.py prints the levels side by side).
LEVEL = 1
_REDACT_CACHE_MAX = 4096  # distinct raw bodies remembered (only bodies up to _REDACT_CACHE_BODY bytes)
_REDACT_CACHE_BODY = 16_384
_SEEN_MAX = 1_000_000  # digests remembered as written; past this the set restarts (INSERT OR IGNORE holds)
_NO_DB_HINT = "run `paritycheck replay` first"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------- store


class Store:
    """A results database. Writing is single-threaded: one writer per database at a time."""

    def __init__(self, db: sqlite_utils.Database, path: Path, *, batch: int = BATCH) -> None:
        self.db = db
        self.path = path
        self.batch = batch
        self._conn: sqlite3.Connection = db.conn
        self._rows: list[tuple[Any, ...]] = []
        self._diffs: list[tuple[Any, ...]] = []  # first item: index of its exchange in _rows
        self._bodies: dict[str, tuple[bytes, int]] = {}
        self._seen: set[str] = set()
        self._seq: dict[int, int] = {}
        self._child: ChildWriter | None = None
        self._redacted: dict[tuple[bytes, str | None], str] = {}
        self._header_texts: dict[Headers, str] = {}

    # -- opening

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, batch: int = BATCH) -> Store:
        """Open (and create or migrate) the database at ``path``."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(
                f"{path} is a directory, not a results database", hint="pass a file path to --db"
            )
        if not path.exists():
            if not create:
                raise StoreError(f"no results database at {path}", hint=_NO_DB_HINT)
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
            db = sqlite_utils.Database(conn, execute_plugins=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(db, path)
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

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- runs

    def start_run(
        self,
        *,
        tool_version: str,
        config: dict[str, Any],
        backends: dict[str, str],
        captures: list[dict[str, str]],
        started: str | None = None,
    ) -> int:
        """Record a new run as ``running`` and return its id. ``config`` must be redacted already."""
        with self.db.atomic():
            cursor = self._conn.execute(
                "INSERT INTO runs (started, status, tool_version, config, backends, captures)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    started or _now(),
                    RUNNING,
                    tool_version,
                    dumps(config),
                    dumps(backends),
                    dumps(captures),
                ),
            )
        run_id = cursor.lastrowid
        assert run_id is not None
        self._seq[run_id] = 0
        return run_id

    def finish_run(self, run_id: int, *, status: str) -> None:
        """Flush, then record the end time, the status and the totals of run ``run_id``."""
        if status not in FINISHED:
            raise ValueError(f"status must be one of {', '.join(FINISHED)}, not {status!r}")
        self.flush()
        counts = self._outcome_counts(run_id)
        with self.db.atomic():
            self._conn.execute(
                "UPDATE runs SET ended = ?, status = ?, total = ?, matched = ?, mismatched = ?, failed = ?,"
                " skipped = ? WHERE id = ?",
                (_now(), status, sum(counts.values()), *(counts.get(s.value, 0) for s in Status), run_id),
            )

    def update_meta(self, run_id: int, values: dict[str, Any]) -> None:
        """Merge ``values`` into the run's free ``meta`` JSON (a JSON merge patch)."""
        self.run(run_id)
        with self.db.atomic():
            self._conn.execute(
                "UPDATE runs SET meta = json_patch(meta, ?) WHERE id = ?", (dumps(values), run_id)
            )

    # -- writing

    def write_in_child(self) -> None:
        """From now on, write outcomes from a child process (paritycheck.storeproc); reads still work.

        Worth it for long runs: storing costs about as much CPU as the rest of paritycheck's work per
        exchange, and a replay is bound by its one event loop. Every read and :meth:`flush` waits until
        the child has written what was added before.
        """
        if self._child is None:
            from paritycheck.storeproc import ChildWriter

            self.flush()
            self._child = ChildWriter(self.path, batch=self.batch)

    def add(self, run_id: int, outcome: Outcome, *, seq: int | None = None) -> None:
        """Buffer one outcome; every ``batch`` outcomes are written in one transaction.

        ``seq`` is given only by the child writer, which receives the numbers the parent assigned.
        """
        if seq is None:
            seq = self._seq.get(run_id)
            if seq is None:
                seq = self._next_seq(run_id)
            self._seq[run_id] = seq + 1
            if self._child is not None:
                self._child.add(run_id, seq, outcome)
                return
        exchange = outcome.exchange
        request = exchange.request
        index = len(self._rows)
        self._rows.append(
            (
                run_id,
                seq,
                exchange.source,
                exchange.index,
                request.method,
                redact.url(request.url),
                outcome.endpoint,
                self._headers_json(request.headers),
                self._body(request.body, header(request.headers, "content-type")),
                *self._reply(outcome.legacy, with_headers=True),
                *self._reply(outcome.candidate, with_headers=True),
                *self._reply(outcome.legacy_again, with_headers=False),
                outcome.status.value,
                outcome.reason,
            )
        )
        for noise, diffs in ((0, outcome.differences), (1, outcome.noise)):
            for d in diffs:
                self._diffs.append(
                    (
                        index,
                        run_id,
                        outcome.endpoint,
                        d.kind,
                        d.path,
                        dumps(redact_value(d.path, d.legacy)),
                        dumps(redact_value(d.path, d.candidate)),
                        noise,
                    )
                )
        if len(self._rows) >= self.batch:
            self.flush()

    def _reply(self, reply: Reply | None, *, with_headers: bool) -> tuple[Any, ...]:
        if reply is None:
            return (None, None, None, None, None) if with_headers else (None, None, None, None)
        body = self._body(reply.body, header(reply.headers, "content-type"))
        if with_headers:
            return reply.status, reply.elapsed_ms, self._headers_json(reply.headers), body, reply.error
        return reply.status, reply.elapsed_ms, body, reply.error

    def _headers_json(self, headers: Headers) -> str:
        """Redacted headers as JSON, remembered: captures repeat the same header sets many times."""
        text = self._header_texts.get(headers)
        if text is None:
            text = dumps(redact.headers(headers))
            if len(self._header_texts) >= _REDACT_CACHE_MAX:
                self._header_texts.clear()
            self._header_texts[headers] = text
        return text

    def _body(self, data: bytes | None, content_type: str | None) -> str | None:
        """Redact, digest and (once per digest) compress a body; empty bodies are stored as NULL."""
        if not data:
            return None
        small = len(data) <= _REDACT_CACHE_BODY
        if small:
            digest = self._redacted.get((data, content_type))
            if digest is not None:
                return digest
        clean = redact.body(data, content_type)
        digest = hashlib.sha256(clean).hexdigest()
        if digest not in self._seen and digest not in self._bodies:
            self._bodies[digest] = (zlib.compress(clean, LEVEL), len(clean))
        if small:
            if len(self._redacted) >= _REDACT_CACHE_MAX:
                self._redacted.clear()
            self._redacted[(data, content_type)] = digest
        return digest

    def flush(self) -> None:
        """Write every buffered outcome in one transaction (with a child writer: wait for it)."""
        if self._child is not None:
            self._child.sync()
        if not self._rows and not self._bodies:
            return
        rows, diffs, bodies = self._rows, self._diffs, self._bodies
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                (last,) = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM exchanges").fetchone()
                base = last + 1
                self._conn.executemany(
                    "INSERT OR IGNORE INTO bodies (digest, data, size) VALUES (?, ?, ?)",
                    [(digest, data, size) for digest, (data, size) in bodies.items()],
                )
                self._conn.executemany(
                    _INSERT_EXCHANGE,
                    [(base + i, *row) for i, row in enumerate(rows)],
                )
                self._conn.executemany(
                    _INSERT_DIFFERENCE,
                    [(base + d[0], *d[1:]) for d in diffs],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot write to {self.path}: {exc}",
                hint="check free disk space and that no other run writes it",
            ) from None
        if len(self._seen) + len(bodies) > _SEEN_MAX:
            self._seen.clear()
        self._seen.update(bodies)
        self._rows, self._diffs, self._bodies = [], [], {}

    def _next_seq(self, run_id: int) -> int:
        self.run(run_id)  # raises for an unknown run, and flushes
        (seq,) = self._conn.execute(
            "SELECT COALESCE(MAX(seq) + 1, 0) FROM exchanges WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(seq)

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
            raise StoreError(f"no runs in {self.path}", hint=_NO_DB_HINT)
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
        sql = f"SELECT id, {_EXCHANGE_COLUMNS} FROM exchanges WHERE run_id = ?"
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
            for exchange_id, kind, path, legacy, candidate, noise in self._conn.execute(
                "SELECT exchange_id, kind, path, legacy, candidate, noise FROM differences"
                f" WHERE exchange_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                found[exchange_id][noise].append(Difference(kind, path, loads(legacy), loads(candidate)))
            for row in chunk:
                diffs, noise_diffs = found[row[0]]
                yield exchange_from_row(row, tuple(diffs), tuple(noise_diffs))

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

    def difference_groups(
        self, run_id: int, *, noise: bool = False, examples: int = 5
    ) -> list[DifferenceGroup]:
        """Identical (endpoint, kind, path) differences grouped, most frequent first.

        Each group carries the first occurrence's values and up to ``examples`` exchange ids. With
        ``noise=True`` the differences classed as noise are grouped instead.
        """
        self.flush()
        rows = self._conn.execute(
            """
            WITH ranked AS (
                SELECT endpoint, kind, path, exchange_id, legacy, candidate,
                       ROW_NUMBER() OVER (PARTITION BY endpoint, kind, path ORDER BY id) AS rn,
                       COUNT(*) OVER (PARTITION BY endpoint, kind, path) AS n
                FROM differences WHERE run_id = ? AND noise = ?
            )
            SELECT endpoint, kind, path, n,
                   MAX(CASE WHEN rn = 1 THEN legacy END), MAX(CASE WHEN rn = 1 THEN candidate END),
                   group_concat(exchange_id)
            FROM ranked WHERE rn <= ? GROUP BY endpoint, kind, path
            ORDER BY n DESC, endpoint, kind, path
            """,
            (run_id, int(noise), max(1, examples)),
        )
        return [
            DifferenceGroup(
                endpoint,
                kind,
                path,
                n,
                loads(legacy),
                loads(candidate),
                tuple(sorted(int(i) for i in ids.split(","))),
            )
            for endpoint, kind, path, n, legacy, candidate, ids in rows
        ]

    # -- noise (paritycheck.noise)

    def apply_noise(self, run_id: int, paths: Sequence[NoisePath]) -> int:
        """Class the run's differences on noise ``paths`` as noise, in one transaction.

        Flags them (``noise = 1``), turns mismatched exchanges left with only noise into matched, stores
        the paths (replacing any stored before) and, for a finished run, its totals. Returns the number of
        exchanges turned into matched.
        """
        run = self.run(run_id)  # also flushes
        by_endpoint: dict[str, list[NoisePath]] = {}
        for noise_path in paths:
            by_endpoint.setdefault(noise_path.endpoint, []).append(noise_path)
        flagged: list[tuple[int]] = []
        if by_endpoint:
            for diff_id, endpoint, kind, path in self._conn.execute(
                "SELECT id, endpoint, kind, path FROM differences WHERE run_id = ? AND noise = 0", (run_id,)
            ):
                rules = by_endpoint.get(endpoint)
                if rules and any(r.covers(Difference(kind, path)) for r in rules):
                    flagged.append((diff_id,))
        with self.db.atomic():
            self._conn.executemany("UPDATE differences SET noise = 1 WHERE id = ?", flagged)
            turned = self._conn.execute(
                "UPDATE exchanges SET outcome = ? WHERE run_id = ? AND outcome = ?"
                " AND EXISTS (SELECT 1 FROM differences d WHERE d.exchange_id = exchanges.id AND d.noise = 1)"
                " AND NOT EXISTS (SELECT 1 FROM differences d WHERE d.exchange_id = exchanges.id"
                " AND d.noise = 0)",
                (Status.MATCHED.value, run_id, Status.MISMATCHED.value),
            ).rowcount
            self._conn.execute("DELETE FROM noise_paths WHERE run_id = ?", (run_id,))
            self._conn.executemany(
                "INSERT INTO noise_paths (run_id, endpoint, path, samples, differed, raw, total, reason,"
                " kinds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, p.endpoint, p.path, p.samples, p.differed, p.raw, p.total, p.reason, kinds)
                    for p in paths
                    for kinds in (dumps(p.kinds),)
                ],
            )
            if run.ended is not None:
                counts = self._outcome_counts(run_id)
                self._conn.execute(
                    "UPDATE runs SET total = ?, matched = ?, mismatched = ?, failed = ?, skipped = ?"
                    " WHERE id = ?",
                    (sum(counts.values()), *(counts.get(s.value, 0) for s in Status), run_id),
                )
        return turned

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
        return self._seq[run_id] - 1

    def start_contract_check(self, run_id: int, *, spec: str, digest: str, title: str, mode: str) -> int:
        """Record a contract check of run ``run_id`` (summary written by :meth:`finish_contract_check`)."""
        self.run(run_id)
        with self.db.atomic():
            cursor = self._conn.execute(
                "INSERT INTO contract_checks (run_id, spec, digest, title, mode, checked)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, spec, digest, title, mode, _now()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_contract_violations(self, check_id: int, run_id: int, rows: list[tuple[Any, ...]]) -> None:
        """Store violations ``(seq, side, operation, status, path, keyword, message, value)``.

        ``seq`` names the exchange in its run; buffered exchanges are flushed first so that it resolves.
        ``value`` must be redacted already.
        """
        self.flush()
        with self.db.atomic():
            self._conn.executemany(
                "INSERT INTO contract_violations (check_id, run_id, exchange_id, side, operation, status,"
                " path, keyword, message, value) VALUES (?, ?,"
                " (SELECT id FROM exchanges WHERE run_id = ? AND seq = ?), ?, ?, ?, ?, ?, ?, ?)",
                [(check_id, run_id, run_id, seq, *rest[:-1], dumps(rest[-1])) for seq, *rest in rows],
            )

    def finish_contract_check(self, check_id: int, summary: dict[str, Any]) -> None:
        """Store the check's report summary (the ``paritycheck contract --json`` document)."""
        with self.db.atomic():
            self._conn.execute(
                "UPDATE contract_checks SET summary = ? WHERE id = ?", (dumps(summary), check_id)
            )

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
        run_id, started, ended, status, version, config, backends, captures, *totals, meta = row
        if totals[0] is None:  # never finished: count what was flushed
            counts = self._outcome_counts(run_id)
            totals = [sum(counts.values()), *(counts.get(s.value, 0) for s in Status)]
        total, matched, mismatched, failed, skipped = totals
        loads = orjson.loads
        return RunInfo(
            run_id, started, ended, status, version, loads(config), loads(backends), loads(captures),
            total, matched, mismatched, failed, skipped, loads(meta),
        )  # fmt: skip


_RUN_SELECT = (
    "SELECT id, started, ended, status, tool_version, config, backends, captures,"
    " total, matched, mismatched, failed, skipped, meta FROM runs"
)
_EXCHANGE_COLUMNS = (
    "run_id, seq, source, entry, method, url, endpoint, request_headers, request_body,"
    " legacy_status, legacy_ms, legacy_headers, legacy_body, legacy_error,"
    " candidate_status, candidate_ms, candidate_headers, candidate_body, candidate_error,"
    " again_status, again_ms, again_body, again_error, outcome, reason"
)
_INSERT_EXCHANGE = (
    f"INSERT INTO exchanges (id, {_EXCHANGE_COLUMNS}) VALUES (?{', ?' * (_EXCHANGE_COLUMNS.count(',') + 1)})"
)
_INSERT_DIFFERENCE = (
    "INSERT INTO differences (exchange_id, run_id, endpoint, kind, path, legacy, candidate, noise)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
