"""The store's writing half: runs, buffered outcomes flushed one transaction per batch, noise and
contract checks. Everything written passes through :mod:`paritycheck.compare.redact` first."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paritycheck.compare import detail, redact, shape
from paritycheck.errors import StoreError
from paritycheck.models import Difference, Headers, Outcome, Request, Status, header
from paritycheck.store.dsn import outage
from paritycheck.store.migrations import EXCHANGE_COLUMNS
from paritycheck.store.packed import Packed, PackedReply, pack
from paritycheck.store.records import FLUSH_SECONDS, NoisePath, RunInfo, dumps, shown_value
from paritycheck.store.sqlitedb import SqliteDatabase

if TYPE_CHECKING:
    from paritycheck.store.childwriter import ChildWriter

FINISHED = ("complete", "interrupted", "failed", "capture_error", "crashed", "unreachable")
RUNNING = "running"
#: zlib level for bodies: on ~1 KB JSON, level 1 takes ~7 us against ~10 us for 6, for 2% more bytes
#: (bench/store.py prints the levels side by side).
LEVEL = 1
_REDACT_CACHE_MAX = 4096  # distinct raw bodies remembered (only bodies up to _REDACT_CACHE_BODY bytes)
_REDACT_CACHE_BODY = 16_384
_NO_REPLY = (None, None, None, None, None)
_SEEN_MAX = 1_000_000  # digests remembered as written; past this the set restarts (INSERT OR IGNORE holds)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Writer:
    """Writing methods of :class:`paritycheck.store.Store`; one writer per database at a time."""

    db: SqliteDatabase
    path: Path | str
    dsn: str | None
    batch: int
    _conn: sqlite3.Connection
    _errors: tuple[type[Exception], ...]
    outages: tuple[type[Exception], ...]
    _rows: list[tuple[Any, ...]]
    _first_at: float  # when the oldest buffered outcome arrived (time.monotonic)
    _diffs: list[tuple[Any, ...]]
    _bodies: dict[str, tuple[bytes, int]]
    _seen: set[str]
    _seq: dict[int, int]
    _stride: dict[int, int]
    _child: ChildWriter | None
    _redacted: dict[tuple[bytes, str | None, redact.Found], str]
    _header_texts: dict[tuple[Headers, redact.Found], str]

    if TYPE_CHECKING:  # provided by paritycheck.store.queries.Queries

        def _outcome_counts(self, run_id: int) -> dict[str, int]: ...

        def run(self, run_id: int) -> RunInfo: ...

    if TYPE_CHECKING:  # provided by paritycheck.store.findings.FindingRows

        def _forget_findings(self, run_id: int) -> None: ...

    # -- runs

    def start_run(
        self,
        *,
        tool_version: str,
        config: dict[str, Any],
        backends: dict[str, str],
        captures: list[dict[str, str]],
        started: str | None = None,
        name: str | None = None,
    ) -> int:
        """Record a new run as ``running`` and return its id. ``config`` must be redacted already.

        ``name`` (``replay --run-name``) must not be taken: a StoreError says so."""
        with self.db.atomic():
            taken = name is not None and self._conn.execute("SELECT 1 FROM runs WHERE name = ?", (name,))
            if taken and taken.fetchone():
                raise StoreError(
                    f"a run named {name!r} exists already in {self.path}", hint="pick another --run-name"
                )
            cursor = self._conn.execute(
                "INSERT INTO runs (name, started, status, tool_version, config, backends, captures, pid,"
                " host, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    started or _now(),
                    RUNNING,
                    tool_version,
                    dumps(config),
                    dumps(backends),
                    dumps(captures),
                    os.getpid(),
                    socket.gethostname(),
                    _now(),
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

    def reopen_run(self, run_id: int) -> None:
        """Mark a stopped run ``running`` again, owned by this process (``replay --resume``)."""
        self.flush()
        with self.db.atomic():
            self._conn.execute(
                "UPDATE runs SET status = ?, ended = NULL, total = NULL, matched = NULL, mismatched = NULL,"
                " failed = NULL, skipped = NULL, pid = ?, host = ?, heartbeat = ? WHERE id = ?",
                (RUNNING, os.getpid(), socket.gethostname(), _now(), run_id),
            )
            self._forget_findings(run_id)
        self._seq.pop(run_id, None)

    def forget_exchanges(self, run_id: int, entries: Sequence[tuple[str, int]]) -> int:
        """Delete the run's stored exchanges of ``(source, entry)`` with their differences and contract
        violations (a session replayed again from its start on resume). Returns how many."""
        self.flush()
        with self.db.atomic():
            self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS forget (source TEXT, entry INTEGER)")
            self._conn.execute("DELETE FROM forget")
            self._conn.executemany("INSERT INTO forget VALUES (?, ?)", entries)
            ids = (
                "SELECT id FROM exchanges WHERE run_id = ?"
                " AND (source, entry) IN (SELECT source, entry FROM forget)"
            )
            self._conn.execute(f"DELETE FROM differences WHERE exchange_id IN ({ids})", (run_id,))
            self._conn.execute(f"DELETE FROM contract_violations WHERE exchange_id IN ({ids})", (run_id,))
            gone = self._conn.execute(f"DELETE FROM exchanges WHERE id IN ({ids})", (run_id,)).rowcount
            self._conn.execute("DELETE FROM forget")
            self._forget_findings(run_id)
        return int(gone)

    def update_meta(self, run_id: int, values: dict[str, Any]) -> None:
        """Merge ``values`` into the run's free ``meta`` JSON (a JSON merge patch)."""
        self.run(run_id)
        with self.db.atomic():
            self._conn.execute(
                "UPDATE runs SET meta = json_patch(meta, ?) WHERE id = ?", (dumps(values), run_id)
            )

    # -- writing

    def write_in_child(self) -> None:
        """From now on, write outcomes from a child process (paritycheck.store.child); reads still work.

        Worth it for long runs: storing costs about as much CPU as the rest of paritycheck's work per
        exchange, and a replay is bound by its one event loop. Every read and :meth:`flush` waits until
        the child has written what was added before.
        """
        if self._child is None:
            from paritycheck.store.childwriter import ChildWriter

            self.flush()
            self._child = ChildWriter(self.path if self.dsn is None else self.dsn, batch=self.batch)

    def add(self, run_id: int, outcome: Outcome) -> None:
        """Buffer one outcome; every ``batch`` outcomes are written in one transaction."""
        seq = self._seq.get(run_id)
        if seq is None:
            seq = self._next_seq(run_id)
        self._seq[run_id] = seq + self._stride.get(run_id, 1)
        if self._child is not None:
            self._child.add(run_id, seq, pack(outcome))
        else:
            self.add_packed(run_id, seq, pack(outcome))

    def add_packed(self, run_id: int, seq: int, packed: Packed) -> None:
        """Buffer one outcome packed by :func:`~paritycheck.store.packed.pack`, numbered ``seq`` in its run.

        The writer child calls this with the numbers the parent assigned; :meth:`add` with its own.
        """
        source, entry, request_fields, endpoint, status, reason = packed[:6]
        legacy, candidate, again, differences, noise = packed[6:]
        method, url, _, _, req_headers, req_body = request_fields
        index = len(self._rows)
        if not index:
            self._first_at = time.monotonic()
        # The request's own secrets, searched for wherever they reappear (its answers above all).
        found = redact.request_secrets(Request(*request_fields))
        self._rows.append(
            (
                run_id,
                seq,
                source,
                entry,
                method,
                redact.url(url, found),
                endpoint,
                self._headers_json(req_headers, found),
                self._body(req_body, header(req_headers, "content-type"), found),
                *self._reply(legacy, found),
                *self._reply(candidate, found),
                *self._reply(again, found, with_headers=False),
                status,
                redact.text(reason, found) if reason else reason,
            )
        )
        for flag, diffs in ((0, differences), (1, noise)):
            for packed_difference in diffs:
                d = Difference(*packed_difference)
                self._diffs.append(
                    (
                        index,
                        run_id,
                        endpoint,
                        d.kind,
                        d.path,
                        dumps(shown_value(d.path, d.legacy, found)),
                        dumps(shown_value(d.path, d.candidate, found)),
                        flag,
                        shape(d.path),
                        detail(d),
                        d.legacy_path,
                        d.candidate_path,
                    )
                )
        if len(self._rows) >= self.batch or time.monotonic() - self._first_at >= FLUSH_SECONDS:
            self.flush()

    def _reply(
        self, reply: PackedReply | None, found: redact.Found, *, with_headers: bool = True
    ) -> tuple[Any, ...]:
        """``(status, ms, headers, body, error)`` as stored (headers as redacted JSON, the body as its
        digest); without ``with_headers``, the same without the headers."""
        if reply is None:
            return _NO_REPLY if with_headers else _NO_REPLY[1:]
        status, elapsed_ms, headers, body, error = reply
        digest = self._body(body, header(headers, "content-type"), found)
        error = redact.text(error, found) if error else error
        if with_headers:
            return status, elapsed_ms, self._headers_json(headers, found), digest, error
        return status, elapsed_ms, digest, error

    def _headers_json(self, headers: Headers, found: redact.Found) -> str:
        """Redacted headers as JSON, remembered: captures repeat the same header sets many times."""
        key = (headers, found)
        text = self._header_texts.get(key)
        if text is None:
            text = dumps(redact.headers(headers, found))
            if len(self._header_texts) >= _REDACT_CACHE_MAX:
                self._header_texts.clear()
            self._header_texts[key] = text
        return text

    def _body(self, data: bytes | None, content_type: str | None, found: redact.Found) -> str | None:
        """Redact, digest and (once per digest) compress a body; empty bodies are stored as NULL."""
        if not data:
            return None
        small = len(data) <= _REDACT_CACHE_BODY
        if small:
            digest = self._redacted.get((data, content_type, found))
            if digest is not None:
                return digest
        clean = redact.body(data, content_type, found)
        digest = hashlib.sha256(clean).hexdigest()
        if digest not in self._seen and digest not in self._bodies:
            self._bodies[digest] = (zlib.compress(clean, LEVEL), len(clean))
        if small:
            if len(self._redacted) >= _REDACT_CACHE_MAX:
                self._redacted.clear()
            self._redacted[(data, content_type, found)] = digest
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
        except self.outages as exc:
            raise outage(str(self.path), exc) from None
        except self._errors as exc:
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

    # -- noise (paritycheck.noise.learn)

    def rename_endpoints(self, run_id: int, names: dict[str, str]) -> None:
        """Rename endpoints of run ``run_id`` (``{old: new}``), as learned templates do after a run."""
        self.flush()
        rows = [(new, run_id, old) for old, new in names.items()]
        with self.db.atomic():
            self._conn.executemany(
                "UPDATE exchanges SET endpoint = ? WHERE run_id = ? AND endpoint = ?", rows
            )
            self._conn.executemany(
                "UPDATE differences SET endpoint = ? WHERE run_id = ? AND endpoint = ?", rows
            )
            self._forget_findings(run_id)

    def apply_noise(self, run_id: int, paths: Sequence[NoisePath], *, replace: bool = True) -> int:
        """Class the run's differences on noise ``paths`` as noise, in one transaction.

        Flags them (``noise = 1``), turns mismatched exchanges left with only noise into matched, stores
        the paths (replacing any stored before) and, for a finished run, its totals. Returns the number of
        exchanges turned into matched. ``replace=False`` (a shard) keeps the paths stored before.
        """
        run = self.run(run_id)  # also flushes
        with self.db.atomic():
            return self._flag_noise(run_id, paths, replace=replace, ended=run.ended is not None)

    def _flag_noise(self, run_id: int, paths: Sequence[NoisePath], *, replace: bool, ended: bool) -> int:
        """:meth:`apply_noise` inside the caller's write transaction."""
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
        self._conn.executemany("UPDATE differences SET noise = 1, learned = 1 WHERE id = ?", flagged)
        self._forget_findings(run_id)
        turned = self._conn.execute(
            "UPDATE exchanges SET outcome = ? WHERE run_id = ? AND outcome = ?"
            " AND EXISTS (SELECT 1 FROM differences d WHERE d.exchange_id = exchanges.id AND d.noise = 1)"
            " AND NOT EXISTS (SELECT 1 FROM differences d WHERE d.exchange_id = exchanges.id"
            " AND d.noise = 0)",
            (Status.MATCHED.value, run_id, Status.MISMATCHED.value),
        ).rowcount
        if replace:
            self._conn.execute("DELETE FROM noise_paths WHERE run_id = ?", (run_id,))
        self._conn.executemany(
            "INSERT OR IGNORE INTO noise_paths (run_id, endpoint, path, samples, differed, raw, total,"
            " reason, kinds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run_id, p.endpoint, p.path, p.samples, p.differed, p.raw, p.total, p.reason, kinds)
                for p in paths
                for kinds in (dumps(p.kinds),)
            ],
        )
        if ended:
            counts = self._outcome_counts(run_id)
            self._conn.execute(
                "UPDATE runs SET total = ?, matched = ?, mismatched = ?, failed = ?, skipped = ?"
                " WHERE id = ?",
                (sum(counts.values()), *(counts.get(s.value, 0) for s in Status), run_id),
            )
        return int(turned)

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


_INSERT_EXCHANGE = (
    f"INSERT INTO exchanges (id, {EXCHANGE_COLUMNS}) VALUES (?{', ?' * (EXCHANGE_COLUMNS.count(',') + 1)})"
)
_INSERT_DIFFERENCE = (
    "INSERT INTO differences (exchange_id, run_id, endpoint, kind, path, legacy, candidate, noise, shape,"
    " detail, legacy_path, candidate_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
