"""Findings as every surface shows them: :class:`Finding` (one root cause) made of :class:`Member`
groups, and :class:`Findings`, a run's findings ranked by risk with what the gate needs to judge them.

The ``--json`` shape (:meth:`Finding.to_json`) is documented in docs/json-summary.md.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, field
from typing import Any

from paritycheck.compare import ACCEPTS_REFUSED, described, severity

__all__ = ["ACCEPT_DAYS", "ACCEPT_REASON", "Finding", "Findings", "Member", "grade_label"]

#: How long the ``accept`` entry a finding offers holds, from today, and the reason it asks for.
ACCEPT_DAYS = 30
ACCEPT_REASON = "why it is acceptable (a ticket)"
_GRADE_LABEL = {ACCEPTS_REFUSED: "candidate accepts what legacy refused"}


def grade_label(grade: str) -> str:
    """A grade in words: ``candidate accepts what legacy refused`` for ``accepts-refused``."""
    return _GRADE_LABEL.get(grade, grade)


@dataclass(frozen=True, slots=True)
class Member:
    """One group of differences a finding covers: on one endpoint, one kind, shape and detail.

    ``consequence`` marks the body and header differences of exchanges whose status differs: they
    come with the status change and are its detail, not a cause of their own. ``examples`` are the
    ids of the first exchanges it occurred in; ``legacy``, ``candidate`` and ``wire`` describe its first
    occurrence (``example_path``, a concrete path).
    """

    signature: str
    endpoint: str
    kind: str
    path: str
    detail: str
    grade: str
    count: int
    exchanges: int
    legacy: Any = None
    candidate: Any = None
    wire: dict[str, str] = field(default_factory=dict)
    example_path: str = ""
    examples: tuple[int, ...] = ()
    consequence: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "path": self.path,
            "detail": self.detail,
            "risk": self.grade,
            "count": self.count,
            "exchanges": self.exchanges,
            "legacy": self.legacy,
            "candidate": self.candidate,
            **({"wire": self.wire} if self.wire else {}),
            "consequence": self.consequence,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One root cause: its members (the groups it explains), ranked by risk among the run's findings.

    ``why`` says in words why its groups are one finding; ``first_seen`` is the first run of the store
    whose findings had this signature (this run when it is new), ``first_seen_at`` when it started.
    """

    signature: str
    grade: str
    title: str
    why: str
    exchanges: int
    differences: int
    members: tuple[Member, ...]
    first_seen: int | None = None
    first_seen_at: str | None = None

    @property
    def subject(self) -> str:
        """The title without its grade's words in front (``DELETE /x 401 → 204``), for a verdict line
        that already names the grade."""
        label = grade_label(self.grade)
        if self.title.lower().startswith(label + ": "):
            return self.title[len(label) + 2 :]
        return self.title

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoints it occurs on, in the order of its members (most differences first)."""
        return tuple(dict.fromkeys(m.endpoint for m in self.members))

    @property
    def causes(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.consequence)

    @property
    def consequences(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.consequence)

    @property
    def example(self) -> Member:
        """The member whose first occurrence illustrates the finding."""
        return (self.causes or self.members)[0]

    def accept_until(self, *, today: dt.date | None = None) -> dt.date:
        """The ``until`` date the offered acceptance has: :data:`ACCEPT_DAYS` days from today."""
        return (today or dt.date.today()) + dt.timedelta(days=ACCEPT_DAYS)

    def accept_command(self, *, today: dt.date | None = None) -> str:
        """A ``paritycheck accept`` command line that accepts this finding for :data:`ACCEPT_DAYS` days."""
        return (
            f"paritycheck accept --finding {shlex.quote(self.signature)}"
            f" --reason {shlex.quote(ACCEPT_REASON)} --until {self.accept_until(today=today).isoformat()}"
        )

    def example_text(self) -> str:
        """``GET /x: $.a: 1 → "1"``: the example pair in one line, without wire paths."""
        m = self.example
        legacy, candidate = described(m.kind, "legacy", m.legacy), described(m.kind, "candidate", m.candidate)
        return f"{m.endpoint}: {m.example_path or m.path}: {legacy} → {candidate}"

    def to_json(self, *, today: dt.date | None = None) -> dict[str, Any]:
        m = self.example
        return {
            "signature": self.signature,
            "risk": self.grade,
            "title": self.title,
            "why": self.why,
            "exchanges": self.exchanges,
            "differences": self.differences,
            "endpoints": list(self.endpoints),
            "first_seen": None
            if self.first_seen is None
            else {"run_id": self.first_seen, "started": self.first_seen_at},
            "example": {
                "endpoint": m.endpoint,
                "kind": m.kind,
                "path": m.example_path or m.path,
                "legacy": m.legacy,
                "candidate": m.candidate,
                **({"wire": m.wire} if m.wire else {}),
                "exchange_id": m.examples[0] if m.examples else None,
            },
            "accept": {
                "finding": self.signature,
                "until": self.accept_until(today=today).isoformat(),
                "command": self.accept_command(today=today),
            },
            "groups": [x.to_json() for x in self.members],
        }


@dataclass(frozen=True, slots=True)
class Findings:
    """A run's findings, riskiest first, and the exchanges' profiles the gate judges with.

    ``profiles`` are ``(endpoint, member indexes, exchanges)``: how many mismatched exchanges of an
    endpoint had exactly those members (indexes into :attr:`members`), so that "every difference of
    this exchange is accepted" is decided without reading the exchanges again.
    """

    run_id: int
    items: tuple[Finding, ...] = ()
    members: tuple[Member, ...] = ()
    profiles: tuple[tuple[str, frozenset[int], int], ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def by_grade(self) -> dict[str, int]:
        """Findings per grade."""
        out: dict[str, int] = {}
        for f in self.items:
            out[f.grade] = out.get(f.grade, 0) + 1
        return out

    def headline(self, top: int = 3) -> str:
        """``3 findings: 1. … 2. … 3. …``: what the demo's (and every report's) headline names."""
        if not self.items:
            return "no findings"
        n = len(self.items)
        named = " ".join(f"{i}. {f.title}" for i, f in enumerate(self.items[:top], 1))
        return f"{n} finding{'s' if n != 1 else ''}: {named}" + (f" (+{n - top} more)" if n > top else "")


def rank_key(f: Finding) -> tuple[int, int, int, str]:
    """Riskiest first: grade, then exchanges (more first), then differences, then signature."""
    return (severity(f.grade), -f.exchanges, -f.differences, f.signature)
