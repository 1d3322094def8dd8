"""Sharded runs: several processes (CI jobs, pods, ``--workers``) replaying parts of one capture into
one named run.

The run is found or created by name inside one write transaction (``BEGIN IMMEDIATE``: SQLite's
write lock, a PostgreSQL advisory lock), so shards that start together make one run, with an id the
database draws. Its ``meta.shards`` holds the shard count, the fingerprint every shard must share
(capture digests, effective rules) and each shard's state. Shard ``i`` of ``n`` numbers its exchanges
``seq = k * n + i - 1``: sequences never collide, and a shard's own stored exchanges are found again by
``seq % n`` (what a re-run of an interrupted shard skips). The run is finished when its last shard is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from paritycheck.errors import StoreError
from paritycheck.models import Status
from paritycheck.store.records import NoisePath, RunInfo, dumps, loads

if TYPE_CHECKING:
    import sqlite3

COMPLETE = "complete"


def shard_progress(run: RunInfo) -> tuple[int, int] | None:
    """``(complete, count)`` shards of a sharded run; None for a run that was not sharded."""
    shards = run.meta.get("shards")
    if not isinstance(shards, dict):
        return None
    states = shards.get("state") or {}
    return sum(1 for s in states.values() if s == COMPLETE), int(shards.get("count", 0))


def describe_shards(run: RunInfo) -> str | None:
    """``3 of 4 shards complete``, or None for a run that was not sharded."""
    progress = shard_progress(run)
    return None if progress is None else f"{progress[0]} of {progress[1]} shards complete"


class Shards:
    """Sharded-run methods of :class:`paritycheck.store.Store`."""

    _conn: sqlite3.Connection
    _seq: dict[int, int]
    _stride: dict[int, int]

    if TYPE_CHECKING:

        def flush(self) -> None: ...

        def _outcome_counts(self, run_id: int) -> dict[str, int]: ...

        def _flag_noise(
            self, run_id: int, paths: Sequence[NoisePath], *, replace: bool, ended: bool
        ) -> int: ...

    def run_id_named(self, name: str) -> int | None:
        """The id of the run called ``name`` (a sharded run), if there is one."""
        self.flush()
        row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def join_shard(
        self,
        name: str,
        *,
        shard: int,
        count: int,
        fingerprint: dict[str, Any],
        tool_version: str,
        config: dict[str, Any],
        backends: dict[str, str],
        captures: list[dict[str, str]],
    ) -> tuple[int, set[tuple[str, int]]]:
        """Join (or create) run ``name`` as shard ``shard`` of ``count``; return its id and the
        ``(source, entry)`` pairs this shard already stored (from an interrupted attempt), to skip.

        A shard whose count or fingerprint differs from the run's, or that is already complete, is
        refused with a StoreError.
        """
        label = f"shard {shard}/{count} of run {name!r}"
        self._begin()
        try:
            row = self._conn.execute("SELECT id, meta FROM runs WHERE name = ?", (name,)).fetchone()
            if row is None:
                meta = {"shards": {"count": count, "fingerprint": fingerprint, "state": {}}}
                cursor = self._conn.execute(
                    "INSERT INTO runs (name, started, status, tool_version, config, backends, captures, meta)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, _now(), "running", tool_version, dumps(config), dumps(backends),
                     dumps(captures), dumps(meta)),
                )  # fmt: skip
                run_id = cursor.lastrowid
                assert run_id is not None
            else:
                run_id, stored = int(row[0]), loads(row[1]).get("shards")
                _check(label, stored, count=count, fingerprint=fingerprint, shard=shard)
            self._conn.execute(
                "UPDATE runs SET status = 'running', ended = NULL, total = NULL,"
                " meta = json_patch(meta, ?) WHERE id = ?",
                (dumps({"shards": {"state": {str(shard): "running"}}}), run_id),
            )
            done: set[tuple[str, int]] = set()
            last = -1
            for source, entry, seq in self._conn.execute(
                "SELECT source, entry, seq FROM exchanges WHERE run_id = ? AND seq % ? = ?",
                (run_id, count, shard - 1),
            ):
                done.add((source, int(entry)))
                last = max(last, int(seq))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._seq[run_id] = last + count if last >= 0 else shard - 1
        self._stride[run_id] = count
        return run_id, done

    def finish_shard(self, run_id: int, *, shard: int, status: str) -> None:
        """Record shard ``shard``'s end; when it was the last one running, finish the run too."""
        self.flush()
        self._begin()
        try:
            self._conn.execute(
                "UPDATE runs SET meta = json_patch(meta, ?) WHERE id = ?",
                (dumps({"shards": {"state": {str(shard): status}}}), run_id),
            )
            (meta,) = self._conn.execute("SELECT meta FROM runs WHERE id = ?", (run_id,)).fetchone()
            shards = loads(meta)["shards"]
            states = list(shards["state"].values())
            if len(states) == shards["count"] and "running" not in states:
                final = (
                    COMPLETE
                    if all(s == COMPLETE for s in states)
                    else "unreachable"  # a backend answered none of some shard's exchanges: no verdict
                    if all(s in (COMPLETE, "unreachable") for s in states)
                    else ("failed" if "failed" in states else "interrupted")
                )
                counts = self._outcome_counts(run_id)
                self._conn.execute(
                    "UPDATE runs SET ended = ?, status = ?, total = ?, matched = ?, mismatched = ?,"
                    " failed = ?, skipped = ? WHERE id = ?",
                    (_now(), final, sum(counts.values()), *(counts.get(s.value, 0) for s in Status), run_id),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def merge_noise(
        self,
        run_id: int,
        *,
        shard: int,
        evidence: dict[str, Any],
        classify: Callable[[list[dict[str, Any]]], list[NoisePath]],
    ) -> list[NoisePath]:
        """Store shard ``shard``'s noise evidence and class the run's noise again on every shard's.

        One write transaction: the evidence stored so far (this shard's included) is passed to
        ``classify``, the differences flagged by the previous classification are unflagged (their
        exchanges mismatched again) and the new noise paths applied to every stored difference of the
        run. Shards take turns, so the last one to finish classifies on the evidence of all of them, and
        a path noisy in one shard's samples is judged on the whole run's, as one process would.
        Differences classed as noise when compared (instants read during the run) are kept.
        """
        self._begin()
        try:
            self._conn.execute(
                "INSERT INTO noise_evidence (run_id, shard, evidence) VALUES (?, ?, ?)",
                (run_id, shard, dumps(evidence)),
            )
            stored = [
                loads(text)
                for (text,) in self._conn.execute(
                    "SELECT evidence FROM noise_evidence WHERE run_id = ? ORDER BY id", (run_id,)
                )
            ]
            paths = classify(stored)
            self._conn.execute(
                "UPDATE differences SET noise = 0, learned = 0 WHERE run_id = ? AND learned = 1", (run_id,)
            )
            self._conn.execute(
                "UPDATE exchanges SET outcome = ? WHERE run_id = ? AND outcome = ?"
                " AND EXISTS (SELECT 1 FROM differences d WHERE d.exchange_id = exchanges.id"
                " AND d.noise = 0)",
                (Status.MISMATCHED.value, run_id, Status.MATCHED.value),
            )
            (ended,) = self._conn.execute("SELECT ended FROM runs WHERE id = ?", (run_id,)).fetchone()
            self._flag_noise(run_id, paths, replace=True, ended=ended is not None)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return paths

    def _begin(self) -> None:
        self.flush()
        self._conn.execute("BEGIN IMMEDIATE")


def _check(label: str, stored: Any, *, count: int, fingerprint: dict[str, Any], shard: int) -> None:
    if not isinstance(stored, dict):
        raise StoreError(
            f"{label} refused: a run of that name exists and is not sharded",
            hint="pick another --run-name",
        )
    if stored.get("count") != count:
        raise StoreError(
            f"{label} refused: the run was started with {stored.get('count')} shards",
            hint=f"pass --shard I/{stored.get('count')}, or pick another --run-name",
        )
    theirs = stored.get("fingerprint") or {}
    for key, what in (("captures", "capture (sha256)"), ("rules", "effective rules")):
        if theirs.get(key) != fingerprint.get(key):
            raise StoreError(
                f"{label} refused: its {what} differ from the run's other shards",
                hint="every shard must replay the same capture with the same configuration",
            )
    if (stored.get("state") or {}).get(str(shard)) == COMPLETE:
        raise StoreError(f"{label} refused: that shard is already complete", hint="pick another --run-name")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
