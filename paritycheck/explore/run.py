"""One explore run: choose the operations to cover, generate requests, replay them as an ordinary run.

The generated requests are written as a JSON-lines capture (``--out``, by default next to the
database), so the run is an ordinary run of that capture: normalise, diff, noise calibration, store,
report and gate all apply unchanged, and ``paritycheck replay`` reproduces it. The run's ``meta.explore``
records the spec, the seed, what each entry probes and the coverage (docs/explore.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paritycheck.capture import CaptureWriter, read
from paritycheck.config import Config
from paritycheck.contract import Contract, Operation, load_contract
from paritycheck.errors import CaptureError
from paritycheck.explore.generate import (
    INVALID_KINDS,
    NO_CREDENTIALS,
    VALID,
    Generated,
    Plan,
    generate,
    load_schema,
)
from paritycheck.explore.links import find_links, stateful
from paritycheck.gate import LiveSummary
from paritycheck.models import Exchange, Recorded, Request, Status
from paritycheck.run import RunResult, replay_captures
from paritycheck.store import Store, StoredExchange

#: The host of generated URLs: replay sends only the path and query, to the configured backends.
GENERATED_ORIGIN = "http://generated.paritycheck.invalid"
#: A refusal on the legacy backend that the candidate answered with success.
ACCEPTS = "candidate accepts what legacy refused"


@dataclass(frozen=True, slots=True)
class OperationCoverage:
    """One documented operation: where it was exercised and the statuses each side answered."""

    operation: str
    source: str  # "capture", "generated" or "never"
    legacy: dict[int, int] = field(default_factory=dict)
    candidate: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "source": self.source,
            "legacy_statuses": {str(k): v for k, v in sorted(self.legacy.items())},
            "candidate_statuses": {str(k): v for k, v in sorted(self.candidate.items())},
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A generated request whose answers differ: what it probed and how each side answered."""

    entry: int
    operation: str
    kind: str
    description: str
    method: str
    target: str
    legacy_status: int
    candidate_status: int

    @property
    def accepts_refused(self) -> bool:
        return 400 <= self.legacy_status < 500 and 200 <= self.candidate_status < 300

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "accepts_refused": self.accepts_refused}


@dataclass(frozen=True, slots=True)
class ExploreResult:
    """What an explore run produced."""

    run: RunResult
    plan: Plan
    seed: int
    spec: Path
    capture: Path
    coverage: tuple[OperationCoverage, ...]
    findings: tuple[Finding, ...]
    saved: Path | None = None

    def to_json(self) -> dict[str, Any]:
        kinds = Counter(r.kind for r in self.plan.requests)
        return {
            "run_id": self.run.run_id,
            "status": self.run.status,
            "spec": str(self.spec),
            "seed": self.seed,
            "capture": str(self.capture),
            "generated": len(self.plan.requests),
            "kinds": dict(sorted(kinds.items())),
            "operations": list(self.plan.operations),
            "skipped_operations": self.plan.skipped,
            "timed_out": self.plan.timed_out,
            "coverage": [c.to_json() for c in self.coverage],
            "findings": [f.to_json() for f in self.findings],
            "accepts_refused": sum(f.accepts_refused for f in self.findings),
            "saved": None if self.saved is None else str(self.saved),
            "summary": self.run.summary.to_json(),
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
    """The documented response codes of ``op`` (``404``, ``4XX``) that no seen status stands for."""
    missing = []
    for code in op.responses:
        exact = code.isdigit() and int(code) not in seen
        ranged = len(code) == 3 and code[1:].upper() == "XX" and not any(str(s)[0] == code[0] for s in seen)
        if exact or ranged:
            missing.append(code)
    return missing


@dataclass(frozen=True, slots=True)
class Prepared:
    """The spec loaded, the operations already exercised, and the generated requests."""

    contract: Contract
    exercised: frozenset[str]
    plan: Plan


def prepare(
    config: Config,
    spec: Path,
    *,
    db: Path,
    seed: int,
    max_examples: int,
    all_operations: bool = False,
    captures: Sequence[Path] = (),
    time_limit: float | None = None,
    on_operation: Callable[[str, int, int], None] | None = None,
) -> Prepared:
    """Choose the target operations and generate their requests (synchronous: CPU-bound, no I/O to backends).

    Targets are the operations not yet exercised by ``captures`` or the runs in ``db``, or exercised without
    one of their documented statuses (every operation with ``all_operations``). Writes are generated only
    when ``config.replay.allow_writes`` is set.
    """
    contract = load_contract(spec)
    schema = load_schema(spec)
    seen = {} if all_operations else exercised_statuses(contract, captures, db)
    # an operation is a target until every documented status (404, 4XX; not `default`) has been seen
    targets = None
    if not all_operations:
        targets = [
            op.key for op in contract.operations if op.key not in seen or missing_statuses(op, seen[op.key])
        ]
    plan = generate(
        schema,
        targets=targets,
        seed=seed,
        max_examples=max_examples,
        allow_writes=config.replay.allow_writes,
        time_limit=time_limit,
        on_operation=on_operation,
    )
    # Stateful sequences where the spec has OpenAPI links (explore/links.py): create, then read it.
    firsts: dict[str, Generated] = {}
    for request in plan.requests:
        if request.kind == VALID:
            firsts.setdefault(request.operation, request)
    linked = stateful(schema, find_links(schema), firsts, allow_writes=config.replay.allow_writes)
    plan = dataclasses.replace(plan, requests=(*plan.requests, *linked))
    if not plan.requests:
        raise CaptureError(
            "nothing to generate: every operation is exercised or skipped"
            + (
                f" ({len(plan.skipped)} skipped: {next(iter(plan.skipped.values()))})" if plan.skipped else ""
            ),
            file=str(spec),
            hint="pass --all to cover every operation, or --allow-writes to generate writes",
        )
    return Prepared(contract, frozenset(seen), plan)


async def explore(
    config: Config,
    spec: Path,
    *,
    db: Path,
    seed: int,
    max_examples: int,
    all_operations: bool = False,
    captures: Sequence[Path] = (),
    time_limit: float | None = None,
    out: Path | None = None,
    save: Path | None = None,
    prepared: Prepared | None = None,
    on_outcome: Callable[[Any], None] | None = None,
    live: LiveSummary | None = None,
) -> ExploreResult:
    """Generate requests (see :func:`prepare`, or pass ``prepared``) and replay them as an ordinary run.

    ``save`` writes the generated requests whose answers differed as a HAR capture, a regression case
    for the nightly replay.
    """
    if prepared is None:
        prepared = await asyncio.to_thread(
            prepare,
            config,
            spec,
            db=db,
            seed=seed,
            max_examples=max_examples,
            all_operations=all_operations,
            captures=captures,
            time_limit=time_limit,
        )
    contract, exercised, plan = prepared.contract, set(prepared.exercised), prepared.plan
    capture = out or db.parent / f"explore-seed{seed}.jsonl"
    await asyncio.to_thread(write_capture, plan.requests, capture)
    result = await replay_captures(
        config, [capture], db=db, contract=contract, on_outcome=on_outcome, live=live
    )
    with Store.open(db, create=False) as store:
        stored = list(store.exchanges(result.run_id))
        coverage = _coverage(contract, exercised, plan, stored)
        findings = _findings(plan, stored)
        store.update_meta(
            result.run_id,
            {
                "explore": {
                    "spec": str(spec),
                    "seed": seed,
                    "max_examples": max_examples,
                    "capture": str(capture),
                    "kinds": [r.kind for r in plan.requests],
                    "coverage": [c.to_json() for c in coverage],
                    "skipped_operations": plan.skipped,
                }
            },
        )
    saved = None
    if save is not None and findings:
        await asyncio.to_thread(write_capture, [plan.requests[f.entry] for f in findings], save)
        saved = save
    return ExploreResult(result, plan, seed, spec, capture, tuple(coverage), tuple(findings), saved)


def write_capture(requests: Sequence[Generated], path: Path) -> None:
    """The generated requests as a capture that ``replay`` reads: HAR or JSON lines by the extension.

    Written with the project's capture writer, unredacted (generated requests carry only the
    placeholder credential that ``[auth]`` replaces), each entry commented with what it probes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with CaptureWriter(path, redact=None, flush_every=1000) as writer:
        for index, request in enumerate(requests):
            writer.write(
                _exchange(request, index),
                comment=f"{request.operation}: {request.kind}: {request.description}",
            )


def _exchange(request: Generated, index: int) -> Exchange:
    recorded = None
    if request.recorded is not None:  # what session correlation learns a linked value from
        status, body = request.recorded
        recorded = Recorded(status, (("content-type", "application/json"),), body)
    wire = Request(
        request.method,
        GENERATED_ORIGIN + request.target,
        request.path,
        request.query,
        request.headers,
        request.body,
    )
    return Exchange(index=index, source="generated", request=wire, recorded=recorded)


def _coverage(
    contract: Contract, exercised: set[str], plan: Plan, stored: list[StoredExchange]
) -> list[OperationCoverage]:
    statuses: dict[str, tuple[Counter[int], Counter[int]]] = {}
    for x in stored:
        legacy, candidate = statuses.setdefault(x.endpoint, (Counter(), Counter()))
        if x.legacy is not None and x.legacy.error is None:
            legacy[x.legacy.status] += 1
        if x.candidate is not None and x.candidate.error is None:
            candidate[x.candidate.status] += 1
    generated = set(plan.operations)
    out = []
    for op in contract.operations:
        source = "capture" if op.key in exercised else "generated" if op.key in generated else "never"
        legacy, candidate = statuses.get(op.key, (Counter(), Counter()))
        out.append(OperationCoverage(op.key, source, dict(legacy), dict(candidate)))
    return out


def _findings(plan: Plan, stored: list[StoredExchange]) -> list[Finding]:
    out = []
    for x in stored:
        if x.outcome is not Status.MISMATCHED or not 0 <= x.entry < len(plan.requests):
            continue
        request = plan.requests[x.entry]
        legacy = x.legacy.status if x.legacy is not None else 0
        candidate = x.candidate.status if x.candidate is not None else 0
        out.append(
            Finding(
                x.entry,
                request.operation,
                request.kind,
                request.description,
                request.method,
                request.target,
                legacy,
                candidate,
            )
        )
    # the headline first: the candidate accepting what legacy refused, invalid probes before valid ones
    out.sort(key=lambda f: (not f.accepts_refused, f.kind not in (*INVALID_KINDS, NO_CREDENTIALS), f.entry))
    return out
