"""Contract checks of runs: validating stored or live replies side by side, and persisting the results.

A check is stored as a ``contract_checks`` row (spec name and digest, mode, the report summary) and
its violations as ``contract_violations`` rows linked to their exchanges, at most
:data:`MAX_STORED` per (operation, side, status, path, keyword); the summary keeps the full counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paritycheck.common.endpoints import split_target
from paritycheck.config import NormaliseConfig, build
from paritycheck.contract.check import Contract, Violation, load_spec
from paritycheck.contract.normalised import normalised_contract
from paritycheck.contract.report import ContractReport, check_captures
from paritycheck.errors import ConfigError, ParitycheckError
from paritycheck.models import Outcome, Reply
from paritycheck.store import RunInfo, Store, StoredReply

__all__ = ["MAX_STORED", "ReplayCheck", "check", "check_run", "load_contract", "run_rules"]

#: Violations stored per (operation, side, status, path, keyword) and check; the summary counts all.
MAX_STORED = 200
_BATCH = 1000
_BODY_CACHE = 256


def load_contract(spec: str | Path, *, normalise: NormaliseConfig | None = None) -> Contract:
    """Load ``spec``; with ``normalise``, the normalised view of it (docs/contract.md)."""
    contract = load_spec(spec)
    return contract if normalise is None else normalised_contract(contract, normalise)


class _Recorder:
    """Writes one check's violations to the store in batches, then its summary."""

    def __init__(self, store: Store, run_id: int, contract: Contract) -> None:
        self.store = store
        self.run_id = run_id
        self.check_id = store.start_contract_check(
            run_id,
            spec=contract.source,
            digest=contract.digest,
            title=contract.title,
            mode=contract.mode,
        )
        self._rows: list[tuple[object, ...]] = []
        self._kept: dict[tuple[str, str, int, str, str], int] = {}

    def add(self, seq: int, operation: str, found: dict[str, list[Violation]]) -> None:
        for side, violations in found.items():
            for v in violations:
                ident = (operation, side, v.status, v.path, v.keyword)
                n = self._kept.get(ident, 0)
                if n >= MAX_STORED:
                    continue
                self._kept[ident] = n + 1
                self._rows.append((seq, side, operation, v.status, v.path, v.keyword, v.message, v.value))
        if len(self._rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self.store.add_contract_violations(self.check_id, self.run_id, self._rows)
            self._rows = []

    def finish(self, report: ContractReport) -> None:
        self.flush()
        self.store.finish_contract_check(self.check_id, report.to_json())


class ReplayCheck:
    """Validates both replies of every outcome of a replay, right after the store has added it."""

    def __init__(self, contract: Contract, store: Store, run_id: int) -> None:
        self.report = ContractReport(contract)
        self.store = store
        self.run_id = run_id
        self._recorder = _Recorder(store, run_id, contract)

    def add(self, outcome: Outcome) -> None:
        """Validate ``outcome`` (the exchange the store added last) and store its violations."""
        if outcome.legacy is None and outcome.candidate is None:
            return  # skipped: nothing was sent
        request = outcome.exchange.request
        found = self.report.add(
            request.method, request.path, legacy=outcome.legacy, candidate=outcome.candidate, request=request
        )
        if found:
            op = self.report.contract.operation(request.method, request.path)
            assert op is not None
            self._recorder.add(self.store.last_seq(self.run_id), op.key, found)

    def finish(self) -> ContractReport:
        """Store the remaining violations and the summary; return the report."""
        self._recorder.finish(self.report)
        return self.report


def check_run(contract: Contract, store: Store, run_id: int, *, save: bool = True) -> ContractReport:
    """Validate both backends' stored replies of run ``run_id``; with ``save``, store the check.

    Stored bodies and headers are redacted, so a failure on a redacted value is dropped (it says
    nothing about the backend); ``replay --contract`` validates the replies before redaction.
    """
    store.run(run_id)
    report = ContractReport(contract)
    recorder = _Recorder(store, run_id, contract) if save else None
    bodies: dict[str, bytes] = {}

    def reply(stored: StoredReply | None) -> Reply | None:
        if stored is None:
            return None
        body = b""
        if stored.body is not None:
            cached = bodies.get(stored.body)
            if cached is None:
                if len(bodies) >= _BODY_CACHE:
                    bodies.clear()
                cached = bodies[stored.body] = store.body(stored.body)
            body = cached
        status = 0 if stored.error is not None else stored.status
        return Reply(status, stored.headers, body, stored.elapsed_ms, stored.error)

    for ex in store.exchanges(run_id):
        legacy, candidate = reply(ex.legacy), reply(ex.candidate)
        if legacy is None and candidate is None:
            continue
        path = split_target(ex.url)[0]
        found = report.add(ex.method, path, legacy=legacy, candidate=candidate, redacted=True)
        if found and recorder is not None:
            op = contract.operation(ex.method, path)
            assert op is not None
            recorder.add(ex.seq, op.key, found)
    if recorder is not None:
        recorder.finish(report)
    return report


def run_rules(run: RunInfo) -> NormaliseConfig | None:
    """The ``[normalise]`` rules recorded with ``run``, or None when it has none readable."""
    stored = run.config.get("normalise") if isinstance(run.config, dict) else None
    if not isinstance(stored, dict):
        return None
    try:
        return build(NormaliseConfig, stored, prefix="normalise", source=f"run {run.id}")
    except ConfigError:
        return None  # written by another version: the caller falls back to the current rules


def check(
    spec: str | Path,
    captures: Sequence[Path] = (),
    *,
    db: Path,
    run_id: int | None = None,
    normalised: bool = False,
    rules: NormaliseConfig | None = None,
    save: bool = True,
) -> ContractReport:
    """``paritycheck contract``: validate the captures' recorded responses, else a run's replies.

    With ``normalised``, bodies and schemas go through ``[normalise]`` rules: the run's own (as
    recorded with it) in run mode, else ``rules``. Captures mode never opens the database.
    """
    if captures and run_id is not None:
        raise ParitycheckError(
            "give CAPTURE files or --run, not both",
            hint="captures check their recorded responses; --run checks a replayed run",
        )
    contract = load_spec(spec)
    current = rules or NormaliseConfig()
    if captures:
        return check_captures(
            normalised_contract(contract, current) if normalised else contract, list(captures)
        )
    with Store.open(db, create=False) as store:
        rid = store.latest_run_id() if run_id is None else run_id
        run = store.run(rid)
        if normalised:
            contract = normalised_contract(contract, run_rules(run) or current)
        return check_run(contract, store, rid, save=save)
