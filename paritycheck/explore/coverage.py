"""What an explore run covers: the statuses seen before, what to aim generation at, and the coverage table.

An operation is *exercised* when the given captures or the stored runs (the legacy's answers) hold a
request for it. It is generated for when it was not, or when one of its documented statuses (``404``,
``4XX``; not ``default``, not 5xx) was never seen, and then only with the probes that can reach those
statuses. The coverage table says, per operation, where it was exercised, what was seen before and what
each side answered in this run (docs/explore.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paritycheck.capture import read
from paritycheck.contract import Contract, Operation
from paritycheck.explore.generate import INVALID_KINDS, MALFORMED_BODY, NO_CREDENTIALS, VALID, Plan
from paritycheck.store import Store, StoredExchange

__all__ = [
    "BOTH",
    "CAPTURE",
    "GENERATED",
    "NEVER",
    "OperationCoverage",
    "coverage",
    "exercised_statuses",
    "kinds_for",
    "missing_statuses",
]

#: Where an operation was exercised (``OperationCoverage.source``).
CAPTURE, BOTH, GENERATED, NEVER = "capture", "capture+generated", "generated", "never"


@dataclass(frozen=True, slots=True)
class OperationCoverage:
    """One documented operation: where it was exercised and the statuses each side answered."""

    operation: str
    #: ``capture`` (the captures or stored runs saw every documented status: nothing generated),
    #: ``capture+generated`` (seen, but some documented statuses never: generated for those),
    #: ``generated`` or ``never``.
    source: str
    #: This run's answers, per status.
    legacy: dict[int, int] = field(default_factory=dict)
    candidate: dict[int, int] = field(default_factory=dict)
    #: Statuses the captures and stored runs' legacy answered before this run.
    seen: tuple[int, ...] = ()
    #: Documented statuses (``404``, ``4XX``) not seen before: what generation aimed at.
    missing: tuple[str, ...] = ()
    #: Why nothing was generated for an operation that is ``never`` exercised.
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "source": self.source,
            "legacy_statuses": {str(k): v for k, v in sorted(self.legacy.items())},
            "candidate_statuses": {str(k): v for k, v in sorted(self.candidate.items())},
            "seen_statuses": list(self.seen),
            "missing_statuses": list(self.missing),
            "reason": self.reason,
        }


def exercised_statuses(contract: Contract, captures: Sequence[Path], db: Path) -> dict[str, set[int]]:
    """Per operation, the statuses the given captures recorded and the stored runs' legacy answered."""
    seen: dict[str, set[int]] = {}

    def add(method: str, path: str, status: int | None) -> None:
        op = contract.operation(method, path)
        if op is not None:
            statuses = seen.setdefault(op.key, set())
            if status:
                statuses.add(status)

    for capture in captures:
        for exchange in read(capture):
            if exchange.skip is None:
                recorded = exchange.recorded
                add(exchange.request.method, exchange.request.path, recorded.status if recorded else None)
    if db.exists():
        with Store.open(db, create=False) as store:
            for method, path, status in store.requests_sent():
                add(method, path, status)
    return seen


def missing_statuses(op: Operation, seen: set[int]) -> list[str]:
    """The documented response codes of ``op`` (``404``, ``4XX``) that no seen status stands for.

    Server errors (5xx) are left out: generated traffic does not aim to break a backend.
    """
    missing = []
    for code in op.responses:
        if code[:1] == "5":
            continue
        exact = code.isdigit() and int(code) not in seen
        ranged = len(code) == 3 and code[1:].upper() == "XX" and not any(str(s)[0] == code[0] for s in seen)
        if exact or ranged:
            missing.append(code)
    return missing


def kinds_for(missing: Sequence[str]) -> frozenset[str]:
    """The probes that can reach the ``missing`` statuses of an operation the captures already exercised.

    A success (2xx, 3xx) or a 404 (an unknown id) needs valid requests; 401 and 403 a request without
    credentials; any other client error the invalid ones. Valid happy paths the capture has are not sent
    again for nothing.
    """
    kinds: set[str] = set()
    for code in missing:
        if code[:1] in ("2", "3") or code == "404":
            kinds.add(VALID)
        elif code in ("401", "403"):
            kinds.add(NO_CREDENTIALS)
        else:
            kinds.update((*INVALID_KINDS, MALFORMED_BODY))
            if code.upper() == "4XX":
                kinds.update((VALID, NO_CREDENTIALS))
    return frozenset(kinds)


def coverage(
    contract: Contract, seen: Mapping[str, frozenset[int]], plan: Plan, stored: list[StoredExchange]
) -> list[OperationCoverage]:
    """Per documented operation: where it was exercised, and the statuses each side answered in the run."""
    statuses: dict[str, tuple[Counter[int], Counter[int]]] = {}
    for x in stored:
        # By the generated request's operation: a name the endpoint grouping gave may differ.
        request = plan.requests[x.entry] if 0 <= x.entry < len(plan.requests) else None
        operation = request.operation if request is not None else x.endpoint
        legacy, candidate = statuses.setdefault(operation, (Counter(), Counter()))
        if x.legacy is not None and x.legacy.error is None:
            legacy[x.legacy.status] += 1
        if x.candidate is not None and x.candidate.error is None:
            candidate[x.candidate.status] += 1
    generated = {r.operation for r in plan.requests}
    out = []
    for op in contract.operations:
        before = seen.get(op.key)
        made = op.key in generated
        missing = tuple(missing_statuses(op, set(before))) if before is not None else ()
        source = {(True, True): BOTH, (True, False): CAPTURE, (False, True): GENERATED}.get(
            (before is not None, made), NEVER
        )
        reason = ""
        if not made:
            reason = plan.skipped.get(op.key, "") or (
                "every documented status seen before" if before is not None else "not generated"
            )
        legacy, candidate = statuses.get(op.key, (Counter(), Counter()))
        out.append(
            OperationCoverage(
                op.key, source, dict(legacy), dict(candidate), tuple(sorted(before or ())), missing, reason
            )
        )
    return out
