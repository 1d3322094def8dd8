"""The runs of a period, for ``gate --since 24h``: live modes write one run per window, judged together.

A period is a duration back from now (``90m``, ``24h``, ``7d``, ``1h30m``) or a start time (ISO 8601,
``2026-11-25`` or ``2026-11-25T22:00``, UTC unless it says otherwise). Runs that *started* in the
period are judged; a run still running (the open window of a live mode) is left out and counted, so
a gate never judges half a window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from paritycheck.errors import ConfigError, StoreError
from paritycheck.gate.verdict import FAIL, PASS, RUN, AcceptedGroup, Criterion
from paritycheck.store import RunInfo, Store, describe_shards

__all__ = ["Period", "complete_runs", "id_ranges", "merge_groups", "parse_since", "runs_since"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATIONS = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_RUNNING = "running"


def parse_since(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """The start of the period ``text`` describes, as an aware UTC datetime."""
    now = now or dt.datetime.now(dt.UTC)
    compact = text.strip().lower().replace(" ", "")
    if _DURATIONS.fullmatch(compact):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(compact))
        if seconds > 0:
            return now - dt.timedelta(seconds=seconds)
    try:
        start = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is neither a duration nor a date",
            hint="e.g. --since 24h, 90m, 7d, 1h30m, or --since 2026-11-25T22:00 (UTC)",
        ) from None
    return start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """The finished runs that started at or after ``start``, and the running ones left out."""

    start: dt.datetime
    run_ids: tuple[int, ...]
    running: tuple[int, ...]

    @property
    def label(self) -> str:
        """``since 2026-11-25 22:40 UTC`` (what the verdict names)."""
        return f"since {self.start:%Y-%m-%d %H:%M} UTC"


def _started(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def runs_since(store: Store, start: dt.datetime) -> Period:
    """The runs of ``store`` that started at or after ``start``; StoreError when none has finished."""
    chosen: list[int] = []
    running: list[int] = []
    for run in store.runs():
        if _started(run.started) < start:
            continue
        (running if run.status == _RUNNING else chosen).append(run.id)
    period = Period(start, tuple(chosen), tuple(running))
    if not chosen:
        extra = f" ({len(running)} still running)" if running else ""
        raise StoreError(
            f"no finished run in {store.path} {period.label}{extra}",
            hint="widen --since, or check that the replay or live mode wrote to this --db",
        )
    return period


def merge_groups(groups: list[AcceptedGroup]) -> list[AcceptedGroup]:
    """Accepted difference groups of several runs, one per (endpoint, kind, path), counts added."""
    merged: dict[tuple[str, str, str], AcceptedGroup] = {}
    for g in groups:
        key = (g.endpoint, g.kind, g.path)
        prev = merged.get(key)
        merged[key] = g if prev is None else dataclasses.replace(prev, count=prev.count + g.count)
    return list(merged.values())


def complete_runs(runs: list[RunInfo], period: str | None) -> Criterion:
    """Only complete runs can pass: one row for a single run, or for all the runs of a period."""
    bad = [r for r in runs if r.status != "complete"]
    if period is None:
        run = runs[0]
        shards = describe_shards(run)
        where = f" ({shards})" if shards else ""
        note = "" if not bad else f"run {run.id} is {run.status}{where}: only a complete run can pass"
        return Criterion("run complete", RUN, None, None, None, not bad, note, state=FAIL if bad else PASS)
    ids = [r.id for r in runs]
    note = f"{len(runs)} run(s) judged together ({period}): {id_ranges(ids)}"
    if bad:
        listed = ", ".join(f"{r.id} ({r.status})" for r in bad[:10])
        note = f"{note}; not complete: {listed}"
    return Criterion("runs complete", RUN, len(runs), None, None, not bad, note, state=FAIL if bad else PASS)


def id_ranges(ids: Sequence[int]) -> str:
    """``3-7, 9`` for run ids 3, 4, 5, 6, 7, 9."""
    spans: list[list[int]] = []
    for i in sorted(ids):
        if spans and spans[-1][1] == i - 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
