"""The gate's verdict: one :class:`Criterion` row per check, the accepted groups, and the result that
the terminal, Markdown and JSON render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.errors import ExitStatus
from paritycheck.gate.accepted import Acceptance
from paritycheck.gate.stats import RESAMPLES

RUN, ENDPOINT = "run", "endpoint"
PASS, FAIL, INCONCLUSIVE, NOT_JUDGED = "pass", "fail", "inconclusive", "not judged"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One judged criterion. ``passed`` is True for pass, inconclusive and not judged."""

    name: str
    scope: str
    measured: float | None
    threshold: float | None
    interval: tuple[float, float] | None
    passed: bool
    note: str = ""
    endpoint: str | None = None
    state: str = PASS
    unit: str = ""
    #: How measured compares with threshold to pass: ">=" or "<=" ("" when there is no threshold).
    op: str = ""
    #: What failed it, for the verdict line (a finding's title), when its name alone would not say.
    subject: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scope": self.scope,
            "endpoint": self.endpoint,
            "measured": _json_number(self.measured),
            "threshold": self.threshold,
            "op": self.op,
            "unit": self.unit,
            "interval": None if self.interval is None else [_json_number(x) for x in self.interval],
            "state": self.state,
            "passed": self.passed,
            "note": self.note,
            **({"subject": self.subject} if self.subject else {}),
        }


@dataclass(frozen=True, slots=True)
class AcceptedGroup:
    """A difference group of the run covered by an entry of the known-differences file."""

    endpoint: str
    kind: str
    path: str
    count: int
    acceptance: Acceptance
    expired: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "path": self.path,
            "count": self.count,
            "expired": self.expired,
            "accepted": self.acceptance.to_json(),
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """The verdict on one run, with every criterion and the accepted differences it saw."""

    run_id: int
    criteria: tuple[Criterion, ...]
    accepted: tuple[AcceptedGroup, ...] = ()
    notes: tuple[str, ...] = ()
    confidence: float = 0.95
    resamples: int = RESAMPLES
    known_source: str | None = None
    #: The runs judged together (``gate --since``), oldest first; empty for one run (``run_id``).
    runs: tuple[int, ...] = ()
    #: The period those runs cover, e.g. ``"since 2026-11-25 22:40 UTC"``.
    period: str | None = None

    @property
    def subject(self) -> str:
        """What was judged: ``run 7``, or ``12 runs since 2026-11-25 22:40 UTC``."""
        if self.period is None:
            return f"run {self.run_id}"
        return f"{len(self.runs)} run(s) {self.period}"

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    @property
    def verdict(self) -> str:
        return PASS if self.passed else FAIL

    @property
    def failures(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.OK if self.passed else ExitStatus.DIFFERENCES

    def to_json(self) -> dict[str, Any]:
        """The ``paritycheck gate --json`` object (docs/gate.md)."""
        return {
            "run_id": self.run_id,
            "runs": list(self.runs) if self.period is not None else [self.run_id],
            "period": self.period,
            "verdict": self.verdict,
            "passed": self.passed,
            "criteria": [c.to_json() for c in self.criteria],
            "accepted": [a.to_json() for a in self.accepted],
            "known_differences": self.known_source,
            "notes": list(self.notes),
            "method": {
                "p95": "linear interpolation between closest ranks",
                "interval": "percentile bootstrap, backends resampled independently",
                "confidence": self.confidence,
                "resamples": self.resamples,
                "rule": "fail when the lower bound exceeds the threshold; inconclusive (pass) when the "
                "interval straddles it",
            },
        }


def format_value(x: float, unit: str) -> str:
    """A measured value or threshold with its unit: ``99.95%``, ``1.370×``, ``212.4 ms``."""
    if x in (float("inf"), float("-inf")):
        return "∞"
    if unit == "%":
        return f"{x:.3f}".rstrip("0").rstrip(".") + "%"
    if unit == "×":
        return f"{x:.3f}×"
    if unit == "ms":
        return f"{x:.1f} ms"
    return f"{x:g}"


def _json_number(x: float | None) -> float | None:
    if x is None or x != x or x in (float("inf"), float("-inf")):
        return None
    return round(x, 6)


# ---------------------------------------------------------------------------------------------- criteria


def label(c: Criterion) -> str:
    """``name (endpoint)``, the name of a run-wide criterion, or ``name: subject`` when it has one."""
    if c.subject:
        return f"{c.name}: {c.subject}"
    return f"{c.name} ({c.endpoint})" if c.endpoint else c.name
