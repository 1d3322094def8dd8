"""The runs of a period, for ``gate --since 24h``: live modes write one run per window, judged together.

A period is a duration back from now (``90m``, ``24h``, ``7d``, ``1h30m``) or a start time (ISO 8601,
``2026-11-25`` or ``2026-11-25T22:00``, UTC unless it says otherwise). Runs that *started* in the
period are judged; a run still running (the open window of a live mode) is left out and counted, so
a gate never judges half a window, and so is a sharded run waiting for shards that have not run yet
(``replay --shard 2/4`` alone): it is judged once its last shard ends.

A period can be narrowed (:class:`RunFilter`): by run name (``replay --run-name``, a glob), by kind
(``replay``, ``live`` windows, ``explore``) and by capture (a file name glob or a sha256 prefix).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from paritycheck.errors import ConfigError, StoreError
from paritycheck.gate.verdict import FAIL, PASS, RUN, AcceptedGroup, Criterion
from paritycheck.store import RunInfo, Store, describe_shards

__all__ = [
    "KINDS",
    "Period",
    "RunFilter",
    "complete_runs",
    "id_ranges",
    "included_run",
    "merge_groups",
    "parse_since",
    "run_kind",
    "runs_since",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATIONS = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_RUNNING = "running"
_WAITING = "waiting"
#: The kinds of run a period can be narrowed to.
KINDS = ("replay", "live", "explore")
_SHA = re.compile(r"[0-9a-f]{8,64}")


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


def run_kind(run: RunInfo) -> str:
    """``explore`` (generated from a spec), ``live`` (a proxy or mirror window: its capture is a
    description, with no digest) or ``replay``."""
    if "explore" in run.meta:
        return "explore"
    if run.captures and not any(c.get("digest") for c in run.captures):
        return "live"
    return "replay"


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs of a period are judged: every one, or those matching each given criterion (any of
    its values): ``names`` globs on the run name, ``kinds`` from :data:`KINDS`, ``captures`` globs on a
    capture's path or file name, or sha256 prefixes (8 hex digits at least)."""

    names: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    captures: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in KINDS:
                raise ConfigError(
                    f"--kind {kind!r} is not a kind of run", hint=f"use one of {', '.join(KINDS)}"
                )

    def __bool__(self) -> bool:
        return bool(self.names or self.kinds or self.captures)

    def matches(self, run: RunInfo) -> bool:
        if self.names and not any(run.name and fnmatch.fnmatchcase(run.name, g) for g in self.names):
            return False
        if self.kinds and run_kind(run) not in self.kinds:
            return False
        return not self.captures or any(_capture_matches(c, g) for c in run.captures for g in self.captures)

    def describe(self) -> str:
        """``kind replay, name nightly-*`` (what the verdict names)."""
        parts = [(label, values) for label, values in (("name", self.names), ("kind", self.kinds),
                 ("capture", self.captures)) if values]  # fmt: skip
        return ", ".join(f"{label} {' or '.join(values)}" for label, values in parts)


def _capture_matches(capture: dict[str, Any], pattern: str) -> bool:
    name = str(capture.get("name") or "")
    digest = str(capture.get("digest") or "")
    if digest and _SHA.fullmatch(pattern.lower()) and digest.startswith(pattern.lower()):
        return True
    return any(fnmatch.fnmatchcase(text, pattern) for text in (name, PurePath(name).name) if text)


@dataclass(frozen=True, slots=True)
class Period:
    """The finished runs that started at or after ``start`` (and match ``only``), and those left out:
    still running, or sharded and waiting for shards."""

    start: dt.datetime
    run_ids: tuple[int, ...]
    running: tuple[int, ...]
    waiting: tuple[int, ...] = ()
    only: RunFilter = RunFilter()

    @property
    def label(self) -> str:
        """``since 2026-11-25 22:40 UTC`` (what the verdict names), and the filter if there is one
        (``since 2026-11-25 22:40 UTC, kind replay``)."""
        narrowed = f", {self.only.describe()}" if self.only else ""
        return f"since {self.start:%Y-%m-%d %H:%M} UTC{narrowed}"

    @property
    def left_out(self) -> str:
        """``1 still running, 2 waiting for shards (4-5)``: the runs not judged; or ""."""
        parts = [f"{len(self.running)} still running"] if self.running else []
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting for shards ({id_ranges(self.waiting)})")
        return ", ".join(parts)


def _started(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def runs_since(store: Store, start: dt.datetime, only: RunFilter | None = None) -> Period:
    """The runs of ``store`` that started at or after ``start`` and match ``only``; StoreError when
    none has finished."""
    only = only or RunFilter()
    chosen: list[int] = []
    running: list[int] = []
    waiting: list[int] = []
    for run in store.runs():
        if _started(run.started) < start or not only.matches(run):
            continue
        {_RUNNING: running, _WAITING: waiting}.get(run.status, chosen).append(run.id)
    period = Period(start, tuple(chosen), tuple(running), tuple(waiting), only)
    if not chosen:
        extra = f" ({period.left_out})" if period.left_out else ""
        raise StoreError(
            f"no finished run in {store.path} {period.label}{extra}",
            hint="widen --since or the filters, or check that the replay or live mode wrote to this --db",
        )
    return period


def included_run(run: RunInfo) -> dict[str, Any]:
    """One judged run as ``gate --since`` lists it (terminal, Markdown, JSON)."""
    return {
        "id": run.id,
        "name": run.name,
        "kind": run_kind(run),
        "status": run.status,
        "started": run.started,
        "captures": [str(c.get("name")) for c in run.captures],
        "total": run.total,
    }


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
