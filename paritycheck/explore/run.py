"""One explore run: choose the operations to cover, generate requests, replay them as an ordinary run.

The generated requests are written as a JSON-lines capture (``--out``, by default next to the
database), so the run is an ordinary run of that capture: normalise, diff, noise calibration, store,
report and gate all apply unchanged, and ``paritycheck replay`` reproduces it. The run's ``meta.explore``
records the spec, the seed, what each entry probes and the coverage (docs/explore.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from paritycheck.capture import CaptureWriter
from paritycheck.config import Config
from paritycheck.contract import Contract, load_contract
from paritycheck.errors import CaptureError
from paritycheck.explore.coverage import (
    OperationCoverage,
    coverage,
    exercised_statuses,
    kinds_for,
    missing_statuses,
)
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
    #: Notes for the reader (a backend URL that already holds the spec's base path).
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        kinds = Counter(r.kind for r in self.plan.requests)
        return {
            "run_id": self.run.run_id,
            "status": self.run.status,
            "warnings": list(self.warnings),
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


@dataclass(frozen=True, slots=True)
class Prepared:
    """The spec loaded, what the captures and stored runs saw, and the generated requests."""

    contract: Contract
    #: Operation -> the statuses seen before (captures, stored runs).
    seen: dict[str, frozenset[int]]
    plan: Plan
    #: Whether writes were generated (their own opt-in: ``--allow-writes`` or ``[explore] allow_writes``).
    allow_writes: bool = False

    @property
    def exercised(self) -> frozenset[str]:
        return frozenset(self.seen)


def usable_schemes(config: Config) -> frozenset[str] | None:
    """The security schemes a credential is configured for; None (any) with an ``[auth]`` login."""
    return None if config.auth.path else frozenset(config.explore.credentials)


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
    allow_writes: bool | None = None,
) -> Prepared:
    """Choose the target operations and generate their requests (synchronous: CPU-bound, no I/O to backends).

    Targets are the operations not yet exercised by ``captures`` or the runs in ``db`` (every operation
    with ``all_operations``), and those exercised without one of their documented statuses, for which
    only the probes that can reach those statuses are generated (:func:`kinds_for`). Writes are
    generated only with ``allow_writes`` (None: ``[explore] allow_writes``); ``[replay] allow_writes``,
    which lets a replay send the writes a capture recorded, does not make any.
    """
    writes = config.explore.allow_writes if allow_writes is None else allow_writes
    contract = load_contract(spec)
    schema = load_schema(spec)
    seen = {} if all_operations else exercised_statuses(contract, captures, db)
    targets = None
    kinds: dict[str, frozenset[str]] | None = None
    if not all_operations:
        targets, kinds = [], {}
        for op in contract.operations:
            if op.key not in seen:
                targets.append(op.key)
            elif missing := missing_statuses(op, seen[op.key]):
                targets.append(op.key)
                kinds[op.key] = kinds_for(missing)
    usable = usable_schemes(config)
    plan = generate(
        schema,
        targets=targets,
        seed=seed,
        max_examples=max_examples,
        allow_writes=writes,
        time_limit=time_limit,
        on_operation=on_operation,
        usable=usable,
        kinds=kinds,
    )
    # Stateful sequences where the spec has OpenAPI links (explore/links.py): create, then read it.
    firsts: dict[str, Generated] = {}
    for request in plan.requests:
        if request.kind == VALID:
            firsts.setdefault(request.operation, request)
    linked = stateful(schema, find_links(schema), firsts, allow_writes=writes, usable=usable)
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
    frozen = {op: frozenset(statuses) for op, statuses in seen.items()}
    return Prepared(contract, frozen, plan, writes)


def capture_path(spec: Path, seed: int, requests: Sequence[Generated], *, folder: Path) -> Path:
    """Where the generated capture goes by default: named by the spec, the seed and what it holds.

    ``explore-<spec>-seed<seed>-<digest>.jsonl``: another spec, seed or option never overwrites an
    earlier run's capture (which its run names in ``meta.explore.capture``), and the same requests
    always land in the same file.
    """
    digest = hashlib.sha256()
    for r in requests:
        digest.update(repr((r.operation, r.kind, r.method, r.target, r.headers, r.body)).encode())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", spec.stem).strip("-")[:40] or "spec"
    return folder / f"explore-{stem}-seed{seed}-{digest.hexdigest()[:10]}.jsonl"


def base_path_warnings(config: Config, contract: Contract) -> list[str]:
    """A backend URL whose path already ends with the spec's base path would get it twice."""
    base = contract.bases[0] if contract.bases else ""
    out = []
    for side in ("legacy", "candidate"):
        url = getattr(config.backends, side).url
        path = urlsplit(url).path.rstrip("/")
        if base and path.endswith(base):
            out.append(
                f"the {side} backend URL {url} already ends with the spec's base path {base}: generated"
                f" requests go to {path}{base}/...; give the backend's origin (as for a capture)"
            )
    return out


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
    allow_writes: bool | None = None,
) -> ExploreResult:
    """Generate requests (see :func:`prepare`, or pass ``prepared``) and replay them as an ordinary run.

    ``save`` writes the generated requests whose answers differed as a HAR capture, a regression case
    for the nightly replay. ``allow_writes`` generates writes (None: ``[explore] allow_writes``).
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
            allow_writes=allow_writes,
        )
    contract, plan = prepared.contract, prepared.plan
    capture = out or capture_path(spec, seed, plan.requests, folder=db.parent)
    await asyncio.to_thread(write_capture, plan.requests, capture)
    # The generated writes (if any) were opted into for generation: the replay of this capture sends them.
    run_config = dataclasses.replace(
        config, replay=dataclasses.replace(config.replay, allow_writes=prepared.allow_writes)
    )
    result = await replay_captures(
        run_config, [capture], db=db, contract=contract, on_outcome=on_outcome, live=live
    )
    with Store.open(db, create=False) as store:
        stored = list(store.exchanges(result.run_id))
        covered = coverage(contract, prepared.seen, plan, stored)
        findings = _findings(plan, stored)
        store.update_meta(
            result.run_id,
            {
                "explore": {
                    "spec": str(spec),
                    "seed": seed,
                    "max_examples": max_examples,
                    "allow_writes": prepared.allow_writes,
                    "capture": str(capture),
                    "kinds": [r.kind for r in plan.requests],
                    "coverage": [c.to_json() for c in covered],
                    "skipped_operations": plan.skipped,
                }
            },
        )
    saved = None
    if save is not None and findings:
        await asyncio.to_thread(write_capture, [plan.requests[f.entry] for f in findings], save)
        saved = save
    warnings = tuple(base_path_warnings(config, contract))
    return ExploreResult(result, plan, seed, spec, capture, tuple(covered), tuple(findings), saved, warnings)


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
