"""A rollout step's verdict: advance, hold (with what is missing) or roll back (with the trigger).

Each decision has its own exit status (docs/rollout.md): **0** advance, **75** hold (sysexits'
``EX_TEMPFAIL``: nothing is wrong yet, ask again later), **1** roll back; 2 and 3 keep their meaning
(usage, internal failure). ``to_json`` is what ``rollout status --json`` prints and what the live
listener's admin port serves to controllers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.errors import ExitStatus
from paritycheck.gate import Criterion, format_value
from paritycheck.rollout.canary import CanaryResult

__all__ = ["ADVANCE", "DECISIONS", "HOLD", "ROLLBACK", "Fired", "Missing", "RolloutVerdict"]

ADVANCE, HOLD, ROLLBACK = "advance", "hold", "rollback"
DECISIONS = (ADVANCE, HOLD, ROLLBACK)
_EXIT = {ADVANCE: ExitStatus.OK, HOLD: ExitStatus.HOLD, ROLLBACK: ExitStatus.DIFFERENCES}


@dataclass(frozen=True, slots=True)
class Fired:
    """A trigger that fired: which limit, where (a window, the step so far, the cohorts' logs), the rate
    measured, the confidence bound that crossed the limit, and the limit."""

    action: str
    name: str
    where: str
    measured: float
    bound: float
    threshold: float
    unit: str = "%"

    def describe(self) -> str:
        what = self.name.replace("_", " ").removeprefix("max ").removeprefix("min ")
        side = "at most" if self.name.startswith("min_") else "at least"
        op = "<" if self.name.startswith("min_") else ">"
        return (
            f"{what} {format_value(self.measured, self.unit)} in {self.where}"
            f" ({side} {format_value(self.bound, self.unit)} at the confidence level)"
            f" {op} {format_value(self.threshold, self.unit)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "trigger": self.name,
            "where": self.where,
            "measured": round(self.measured, 6),
            "bound": round(self.bound, 6),
            "threshold": self.threshold,
            "unit": self.unit,
            "text": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class Missing:
    """What a held step still lacks: ``time``, ``samples``, ``evidence`` or a ``criterion`` not met."""

    what: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"what": self.what, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class RolloutVerdict:
    """The verdict on the current step, with its evidence."""

    decision: str
    step: int
    label: str
    share: float
    started: str
    elapsed: float
    #: The step to move to on advance: (number, label, share); None after the last step.
    next_step: tuple[int, str, float] | None
    criteria: tuple[Criterion, ...]
    missing: tuple[Missing, ...]
    fired: tuple[Fired, ...]
    pages: tuple[Fired, ...]
    runs: tuple[int, ...]
    running: tuple[int, ...]
    exchanges: int
    cohort_requests: int
    canary: CanaryResult | None
    notes: tuple[str, ...]
    checked: str

    @property
    def exit_status(self) -> ExitStatus:
        return _EXIT[self.decision]

    @property
    def headline(self) -> str:
        """One line: ``ADVANCE step 2 (25%) -> step 3 (50%)``, ``HOLD step 2 (25%): time 3h12m more``."""
        where = f"step {self.step} ({self.label})"
        if self.decision == ROLLBACK:
            why = self.fired[0].describe() if self.fired else "a rollback trigger fired"
            return f"ROLL BACK at {where}: {why}"
        if self.decision == HOLD:
            return f"HOLD at {where}: " + "; ".join(f"{m.what}: {m.detail}" for m in self.missing[:3])
        if self.next_step is None:
            return f"ADVANCE: {where} is the last, and its criteria are met: the rollout is complete"
        number, label, _ = self.next_step
        return f"ADVANCE from {where} to step {number} ({label})"

    def to_json(self) -> dict[str, Any]:
        """The ``rollout status --json`` object (docs/rollout.md)."""
        nxt = self.next_step
        return {
            "decision": self.decision,
            "exit_status": int(self.exit_status),
            "headline": self.headline,
            "step": {
                "number": self.step,
                "label": self.label,
                "share": self.share,
                "started": self.started,
                "elapsed_seconds": round(self.elapsed, 3),
            },
            "next": None if nxt is None else {"number": nxt[0], "label": nxt[1], "share": nxt[2]},
            "missing": [m.to_json() for m in self.missing],
            "fired": [f.to_json() for f in self.fired],
            "pages": [f.to_json() for f in self.pages],
            "criteria": [c.to_json() for c in self.criteria],
            "evidence": {
                "runs": list(self.runs),
                "running": list(self.running),
                "exchanges": self.exchanges,
                "cohort_requests": self.cohort_requests,
            },
            "canary": None if self.canary is None else self.canary.to_json(),
            "notes": list(self.notes),
            "checked": self.checked,
        }
