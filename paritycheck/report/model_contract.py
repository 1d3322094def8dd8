"""The contract checks and the gate verdict of a run, as the reports show them.

Both are read back as stored: the contract check's summary (the ``paritycheck contract --json``
document, docs/contract.md) and the verdict ``paritycheck gate`` recorded in the run's ``meta.gate``.
Nothing is re-validated or re-evaluated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paritycheck.store import ContractCheck, Store, StoredViolation

#: Distinct violations kept per operation (most frequent first); the counts still include every one.
MAX_VIOLATIONS = 25
#: Undocumented requests and unexercised operations/codes listed at most, per check.
MAX_COVERAGE = 200
_SIDE_ORDER = {"candidate": 0, "legacy": 1, "recorded": 2}


@dataclass(frozen=True, slots=True)
class ContractViolation:
    """Identical (side, status, path, keyword) violations: the first message and value, and how many."""

    side: str
    status: int
    path: str
    keyword: str
    message: str
    value: Any
    count: int


@dataclass(frozen=True, slots=True)
class ContractOperation:
    """One documented operation: requests seen, violations per side and the candidate-only count."""

    operation: str
    seen: int | None
    legacy: int
    candidate: int
    candidate_only: int
    violations: tuple[ContractViolation, ...]
    #: Distinct violations not kept in ``violations`` (past :data:`MAX_VIOLATIONS`).
    more: int = 0


@dataclass(frozen=True, slots=True)
class ContractSection:
    """One stored contract check of the run."""

    check_id: int
    spec: str
    title: str
    digest: str
    mode: str
    checked: str
    operations: tuple[ContractOperation, ...]
    undocumented: tuple[str, ...]
    unexercised: tuple[str, ...]
    #: False when the check never stored its summary (interrupted): figures come from stored rows.
    complete: bool = True

    @property
    def exercised(self) -> tuple[ContractOperation, ...]:
        return tuple(o for o in self.operations if o.seen or o.legacy or o.candidate)

    @property
    def legacy_violations(self) -> int:
        return sum(o.legacy for o in self.operations)

    @property
    def candidate_violations(self) -> int:
        return sum(o.candidate for o in self.operations)

    @property
    def candidate_only(self) -> int:
        return sum(o.candidate_only for o in self.operations)

    @property
    def ok(self) -> bool:
        return not (self.legacy_violations or self.candidate_violations)


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The verdict ``paritycheck gate`` recorded with the run: ``pass`` or ``fail`` and what failed."""

    verdict: str
    failed: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def gate_verdict(meta: dict[str, Any]) -> GateVerdict | None:
    """The recorded gate verdict in a run's ``meta``, or None when the gate was never run on it."""
    gate = meta.get("gate") if isinstance(meta, dict) else None
    if not isinstance(gate, dict) or gate.get("verdict") not in ("pass", "fail"):
        return None
    failed = gate.get("failed")
    names = tuple(str(x) for x in failed) if isinstance(failed, list) else ()
    return GateVerdict(str(gate["verdict"]), names)


def contract_sections(store: Store, run_id: int) -> tuple[ContractSection, ...]:
    """The run's contract checks, newest first, keeping the latest check per (spec, mode)."""
    latest: dict[tuple[str, str], ContractCheck] = {}
    for c in store.contract_checks(run_id):  # oldest first: later ones replace earlier ones
        latest[(c.spec, c.mode)] = c
    checks = sorted(latest.values(), key=lambda c: c.id, reverse=True)
    return tuple(_section(store, c) for c in checks)


def _section(store: Store, check: ContractCheck) -> ContractSection:
    summary = check.summary
    if not isinstance(summary, dict) or not isinstance(summary.get("operations"), list):
        return _from_rows(check, store.contract_violations(check.id))
    operations = tuple(_operation(op) for op in summary["operations"] if isinstance(op, dict))
    return ContractSection(
        check_id=check.id,
        spec=check.spec,
        title=check.title or "",
        digest=check.digest,
        mode=check.mode,
        checked=check.checked,
        operations=operations,
        undocumented=tuple(str(x) for x in summary.get("undocumented") or ()),
        unexercised=tuple(str(x) for x in summary.get("unexercised") or ()),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _operation(op: dict[str, Any]) -> ContractOperation:
    found = [
        ContractViolation(
            side=str(v.get("side", "")),
            status=_int(v.get("status")),
            path=str(v.get("path", "")),
            keyword=str(v.get("keyword", "")),
            message=str(v.get("message", "")),
            value=v.get("value"),
            count=_int(v.get("count")) or 1,
        )
        for v in op.get("violations") or ()
        if isinstance(v, dict)
    ]
    return _kept(
        str(op.get("operation", "")),
        _int(op.get("seen")),
        _int(op.get("legacy_violations")),
        _int(op.get("candidate_violations")),
        _int(op.get("candidate_only")),
        found,
    )


def _kept(
    operation: str, seen: int | None, legacy: int, candidate: int, only: int, found: list[ContractViolation]
) -> ContractOperation:
    # The candidate's violations first (the point of the check), then the most frequent.
    found.sort(key=lambda v: (_SIDE_ORDER.get(v.side, 3), -v.count, v.status, v.path))
    return ContractOperation(
        operation,
        seen,
        legacy,
        candidate,
        only,
        tuple(found[:MAX_VIOLATIONS]),
        max(0, len(found) - MAX_VIOLATIONS),
    )


def _from_rows(check: ContractCheck, rows: Iterable[StoredViolation]) -> ContractSection:
    """A check without a summary (interrupted): counts from its stored violation rows (bounded)."""
    ops: dict[str, dict[tuple[str, int, str, str], tuple[StoredViolation, int]]] = {}
    sides: dict[str, dict[int | None, set[str]]] = {}
    for v in rows:
        kept = ops.setdefault(v.operation, {})
        ident = (v.side, v.status, v.path, v.keyword)
        first, n = kept.get(ident, (v, 0))
        kept[ident] = (first, n + 1)
        sides.setdefault(v.operation, {}).setdefault(v.exchange_id, set()).add(v.side)
    operations = []
    for name, kept in ops.items():
        counts = {"legacy": 0, "candidate": 0}
        for (side, *_), (_, n) in kept.items():
            counts[side] = counts.get(side, 0) + n
        only = sum(1 for s in sides[name].values() if "candidate" in s and "legacy" not in s)
        found = [
            ContractViolation(v.side, v.status, v.path, v.keyword, v.message, v.value, n)
            for v, n in kept.values()
        ]
        operations.append(_kept(name, None, counts["legacy"], counts["candidate"], only, found))
    return ContractSection(
        check_id=check.id,
        spec=check.spec,
        title=check.title or "",
        digest=check.digest,
        mode=check.mode,
        checked=check.checked,
        operations=tuple(operations),
        undocumented=(),
        unexercised=(),
        complete=False,
    )
