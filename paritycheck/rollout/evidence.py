"""What a step is judged on: the stored runs of its period (live windows, replays) and the requests of
each cohort read from access logs since it began.

:func:`step_runs` is the one place that chooses a step's runs: those that started at or after the step
began (and before the next one did), finished; a run still running (the open window) is left out and
counted, as ``gate --since`` does. :func:`window_point` reads what the timeline draws of one run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from paritycheck.gate import percentile
from paritycheck.models import Status
from paritycheck.rollout.accesslog import CohortRule, LogRequest, LogTally, read_access_log
from paritycheck.store import RunInfo, SideErrors, Store

__all__ = ["CohortLogs", "StepPeriod", "WindowPoint", "read_cohorts", "step_runs", "window_point"]

_RUNNING = "running"


def _started(run: RunInfo) -> dt.datetime:
    moment = dt.datetime.fromisoformat(run.started)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class StepPeriod:
    """The runs of a step: finished ones (judged) and those still running (left out, counted)."""

    start: dt.datetime
    until: dt.datetime | None
    runs: tuple[RunInfo, ...]
    running: tuple[int, ...]

    @property
    def run_ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.runs)

    @property
    def label(self) -> str:
        return f"since {self.start:%Y-%m-%d %H:%M:%S} UTC"


def step_runs(store: Store, start: dt.datetime, *, until: dt.datetime | None = None) -> StepPeriod:
    """The runs that started in ``[start, until)``: finished ones, and the ids of those still running.

    The one function that selects a step's evidence, so a narrower selection (by run name, kind or
    capture, as ``gate --since`` may gain) changes here only.
    """
    chosen: list[RunInfo] = []
    running: list[int] = []
    for run in store.runs():
        at = _started(run)
        if at < start or (until is not None and at >= until):
            continue
        if run.status == _RUNNING:
            running.append(run.id)
        else:
            chosen.append(run)
    return StepPeriod(start, until, tuple(chosen), tuple(running))


@dataclass(frozen=True, slots=True)
class WindowPoint:
    """One run as the rollout timeline draws it: when, parity, the p95 ratio and each side's errors."""

    run_id: int
    started: str
    ended: str | None
    judged: int
    matched: int
    failed: int
    p95_ratio: float | None
    errors: SideErrors

    @property
    def parity(self) -> float | None:
        return 100.0 * self.matched / self.judged if self.judged else None

    @property
    def legacy_error_rate(self) -> float | None:
        e = self.errors
        return 100.0 * e.legacy_errors / e.legacy_asked if e.legacy_asked else None

    @property
    def candidate_error_rate(self) -> float | None:
        e = self.errors
        return 100.0 * e.candidate_errors / e.candidate_asked if e.candidate_asked else None


#: Where a finished run keeps its point (``meta``), so the timeline and the judge read each run once.
_KEPT = "rollout_window"


def window_point(store: Store, run: RunInfo) -> WindowPoint:
    """Parity (over compared exchanges), the pooled p95 ratio and each side's error counts of ``run``.

    A finished run's point is kept in its ``meta`` with the run's end time: a live report rewritten at
    every window close would otherwise read every window of the rollout again. A run resumed and
    finished again has another end time, and is read anew.
    """
    kept = run.meta.get(_KEPT)
    if isinstance(kept, dict) and run.ended is not None and kept.get("ended") == run.ended:
        errors = SideErrors(*kept["errors"])
        return WindowPoint(
            run.id,
            run.started,
            run.ended,
            kept["judged"],
            kept["matched"],
            kept["failed"],
            kept["ratio"],
            errors,
        )
    point = _read_point(store, run)
    if run.status != _RUNNING and run.ended is not None:
        e = point.errors
        errors_kept = [e.legacy_errors, e.legacy_asked, e.candidate_errors, e.candidate_asked]
        store.update_meta(run.id, {_KEPT: {
            "ended": run.ended, "judged": point.judged, "matched": point.matched, "failed": point.failed,
            "ratio": point.p95_ratio, "errors": errors_kept,
        }})  # fmt: skip
    return point


def _read_point(store: Store, run: RunInfo) -> WindowPoint:
    counts: dict[str, int] = {}
    for by_status in store.counts(run.id).values():
        for status, n in by_status.items():
            counts[status] = counts.get(status, 0) + n
    matched, failed = counts.get(Status.MATCHED.value, 0), counts.get(Status.FAILED.value, 0)
    judged = matched + counts.get(Status.MISMATCHED.value, 0) + failed
    legacy: list[float] = []
    candidate: list[float] = []
    for legacy_ms, candidate_ms in store.latencies(run.id).values():
        legacy += legacy_ms
        candidate += candidate_ms
    ratio = None
    if legacy and candidate:
        l95 = percentile(legacy, 95)
        ratio = percentile(candidate, 95) / l95 if l95 > 0 else None
    return WindowPoint(
        run.id, run.started, run.ended, judged, matched, failed, ratio, store.side_errors(run.id)
    )


@dataclass(slots=True)
class CohortLogs:
    """The requests of both cohorts since the step began, and what reading the logs came to."""

    requests: list[LogRequest] = field(default_factory=list)
    tally: LogTally = field(default_factory=LogTally)
    #: Requests without a time: they cannot be placed in a step, so they are judged with this one.
    undated: int = 0
    before: int = 0

    def recent(self, since: dt.datetime) -> list[LogRequest]:
        return [r for r in self.requests if r.at is not None and r.at >= since]


def read_cohorts(
    paths: Sequence[str | Path], rule: CohortRule, *, start: dt.datetime, until: dt.datetime | None = None
) -> CohortLogs:
    """The cohorts' requests in ``[start, until)`` of the access logs ``paths`` (undated ones included)."""
    logs = CohortLogs()
    for r in read_access_log(paths, rule, logs.tally):
        if r.at is None:
            logs.undated += 1
        elif r.at < start or (until is not None and r.at >= until):
            logs.before += 1
            continue
        logs.requests.append(r)
    return logs
