"""Rollout steps in the store: when each step began (``rollout start``), the verdicts given on it
(``rollout status``, the admin port), and each backend's error counts per run (a rollout's cohorts)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from paritycheck.store.records import dumps, loads
from paritycheck.store.sqlitedb import SqliteDatabase

__all__ = ["RolloutCheck", "RolloutSteps", "SideErrors", "StepRecord"]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step begun: its position in ``[rollout]`` (1-based), label, share, start and criteria."""

    id: int
    step: int
    label: str
    share: float
    started: str
    plan: dict[str, Any]
    #: Who began it: ``{"by": "cli"}``, or a controller and what it sent (name, namespace, checksum).
    source: dict[str, Any]

    @property
    def started_at(self) -> datetime:
        moment = datetime.fromisoformat(self.started)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RolloutCheck:
    """A verdict given on a step: when, the decision, and the verdict as ``rollout status --json``."""

    id: int
    step_id: int
    checked: str
    decision: str
    verdict: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SideErrors:
    """Per backend, the replayed exchanges it was asked and how many of them it failed (5xx or no answer)."""

    legacy_errors: int = 0
    legacy_asked: int = 0
    candidate_errors: int = 0
    candidate_asked: int = 0

    def __add__(self, other: SideErrors) -> SideErrors:
        return SideErrors(
            self.legacy_errors + other.legacy_errors,
            self.legacy_asked + other.legacy_asked,
            self.candidate_errors + other.candidate_errors,
            self.candidate_asked + other.candidate_asked,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


_STEP_SELECT = "SELECT id, step, label, share, started, plan, source FROM rollout_steps"


def _step(row: tuple[Any, ...]) -> StepRecord:
    step_id, step, label, share, started, plan, source = row
    return StepRecord(int(step_id), int(step), label, float(share), started, loads(plan), loads(source))


class RolloutSteps:
    """Rollout methods of :class:`paritycheck.store.Store`."""

    db: SqliteDatabase
    _conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by paritycheck.store.writer.Writer

        def flush(self) -> None: ...

    def start_step(
        self,
        step: int,
        *,
        label: str,
        share: float,
        plan: dict[str, Any],
        source: dict[str, Any] | None = None,
        started: str | None = None,
    ) -> StepRecord:
        """Record that step ``step`` (1-based) began now (or at ``started``); return it."""
        with self.db.atomic():
            cursor = self._conn.execute(
                "INSERT INTO rollout_steps (step, label, share, started, plan, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (step, label, share, started or _now(), dumps(plan), dumps(source or {})),
            )
        step_id = cursor.lastrowid
        assert step_id is not None
        found = self._conn.execute(f"{_STEP_SELECT} WHERE id = ?", (step_id,)).fetchone()
        return _step(found)

    def rollout_steps(self) -> list[StepRecord]:
        """Every step begun, oldest first."""
        return [_step(row) for row in self._conn.execute(f"{_STEP_SELECT} ORDER BY id")]

    def current_step(self) -> StepRecord | None:
        """The step begun last, or None before ``rollout start``."""
        row = self._conn.execute(f"{_STEP_SELECT} ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else _step(row)

    def add_check(self, step_id: int, decision: str, verdict: dict[str, Any]) -> int:
        """Keep a verdict given on a step."""
        with self.db.atomic():
            cursor = self._conn.execute(
                "INSERT INTO rollout_checks (step_id, checked, decision, verdict) VALUES (?, ?, ?, ?)",
                (step_id, _now(), decision, dumps(verdict)),
            )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def rollout_checks(self, *, step_id: int | None = None, latest: bool = False) -> list[RolloutCheck]:
        """The verdicts given (on one step), oldest first; ``latest``: only the newest one."""
        sql = "SELECT id, step_id, checked, decision, verdict FROM rollout_checks"
        params: list[Any] = []
        if step_id is not None:
            sql += " WHERE step_id = ?"
            params.append(step_id)
        sql += " ORDER BY id DESC LIMIT 1" if latest else " ORDER BY id"
        return [
            RolloutCheck(int(i), int(s), checked, decision, loads(verdict))
            for i, s, checked, decision, verdict in self._conn.execute(sql, params)
        ]

    def side_errors(self, run_id: int) -> SideErrors:
        """Each backend's errors (5xx, or no answer) over the replayed exchanges of a run it was asked."""
        self.flush()
        counted = ", ".join(
            f"COALESCE(SUM(CASE WHEN {side}_error IS NOT NULL OR {side}_status {test} THEN 1 ELSE 0 END), 0)"
            for side in ("legacy", "candidate")
            for test in (">= 500", "IS NOT NULL")
        )
        row = self._conn.execute(
            f"SELECT {counted} FROM exchanges WHERE run_id = ? AND outcome != 'skipped'", (run_id,)
        ).fetchone()
        return SideErrors(*(int(x) for x in row))
