"""The rollout as a timeline: each step a band over time with the criteria it was held to, each
window a point (parity, p95 ratio, each side's error rate), and the verdicts given. The HTML report
draws it (report/html_rollout.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from paritycheck.rollout.evidence import WindowPoint, step_runs, window_point
from paritycheck.store import Store

__all__ = ["Band", "Mark", "Timeline", "timeline"]

#: Windows drawn at most (the newest): each costs a few queries when the report is written.
MAX_POINTS = 400


@dataclass(frozen=True, slots=True)
class Band:
    """One step over time: from its start to the next step's (or now), with what it demanded."""

    number: int
    label: str
    share: float
    start: dt.datetime
    end: dt.datetime
    plan: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Mark:
    """A verdict given at a moment: its decision and headline."""

    at: dt.datetime
    decision: str
    headline: str


@dataclass(frozen=True, slots=True)
class Timeline:
    bands: tuple[Band, ...]
    points: tuple[WindowPoint, ...]
    marks: tuple[Mark, ...]
    #: Windows older than the ones drawn (past :data:`MAX_POINTS`).
    left_out: int = 0
    #: The canary analysis of the newest verdict that had one (``rollout status`` JSON), if any.
    canary: dict[str, Any] | None = None

    @property
    def start(self) -> dt.datetime:
        return self.bands[0].start

    @property
    def end(self) -> dt.datetime:
        return self.bands[-1].end


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def timeline(store: Store, *, now: dt.datetime | None = None) -> Timeline | None:
    """The rollout recorded in ``store``; None when no step has begun."""
    steps = store.rollout_steps()
    if not steps:
        return None
    now = now or dt.datetime.now(dt.UTC)
    starts = [s.started_at for s in steps]
    bands = tuple(
        Band(s.step, s.label, s.share, starts[i], starts[i + 1] if i + 1 < len(steps) else now, s.plan)
        for i, s in enumerate(steps)
    )
    runs = step_runs(store, starts[0]).runs
    shown = runs[-MAX_POINTS:]
    points = tuple(window_point(store, run) for run in shown)
    checks = store.rollout_checks()
    marks = tuple(Mark(_moment(c.checked), c.decision, str(c.verdict.get("headline", ""))) for c in checks)
    canary = next((c.verdict["canary"] for c in reversed(checks) if c.verdict.get("canary")), None)
    return Timeline(bands, points, marks, len(runs) - len(shown), canary)
