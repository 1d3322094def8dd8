"""Run a replay: the pipeline capture → select → replay → compare → store, as one library call.

The CLI is a thin shell over :func:`replay_captures` and :func:`dry_run`; tests call them directly.
A run is a stream of outcomes with several consumers: the store writer, the live summary and an optional
``on_outcome`` callback (the progress bar). Skipped exchanges never occupy a replay slot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paritycheck.capture import HostChoice, Selector, read_fast
from paritycheck.capture.hosts import deciding
from paritycheck.common.gctune import with_fewer_collections
from paritycheck.compare import Comparator, RunClock, redact
from paritycheck.config import Config
from paritycheck.errors import CaptureError, StoreUnavailable
from paritycheck.findings import of_run
from paritycheck.gate import LiveSummary, RunSummary, summarise
from paritycheck.models import Exchange, Outcome, Reply, Status
from paritycheck.noise import NoiseLearner, classify_merged
from paritycheck.replay import Engine, Transport, make_transport, schedule
from paritycheck.run.naming import name_endpoints
from paritycheck.run.prepare import describe_captures, endpoint_matcher, host_chooser, hosts_record
from paritycheck.run.record import check_backends, config_record, finish, redacted_backends
from paritycheck.run.shards import Shard, Split, Splitter, fingerprint, rename_done
from paritycheck.run.stream_limits import stream_limits
from paritycheck.store import Heartbeat, Store

if TYPE_CHECKING:
    from paritycheck.contract import Contract, ContractReport, ReplayCheck
    from paritycheck.session import Group, SessionReplay

OutcomeCallback = Callable[[Outcome], None]

#: From this much capture on, outcomes are stored from a child process: on a CPU-bound replay that
#: frees the event loop of about half of paritycheck's own work per exchange, for ~0.2 s of start-up.
OFFLOAD_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished (or interrupted) run produced."""

    run_id: int
    summary: RunSummary
    status: str
    db: Path | str
    #: The contract check of the replies, with ``replay --contract``.
    contract: ContractReport | None = None

    @property
    def at_parity(self) -> bool:
        return self.summary.mismatched == 0 and self.summary.failed == 0


def failed_outcome(exchange: Exchange, endpoint: str, legacy: Reply, candidate: Reply) -> Outcome | None:
    """The failed outcome when a backend gave no answer (a transport error), naming each side; else None."""
    if legacy.error is None and candidate.error is None:
        return None
    reasons = [
        f"{side}: {reply.error}"
        for side, reply in (("legacy", legacy), ("candidate", candidate))
        if reply.error is not None
    ]
    return Outcome(
        exchange=exchange,
        endpoint=endpoint,
        status=Status.FAILED,
        legacy=legacy,
        candidate=candidate,
        reason="; ".join(reasons),
    )


def _exchanges(paths: Sequence[Path], errors: list[CaptureError]) -> Iterator[Exchange]:
    """Chain the captures; a capture error ends the stream but keeps what was read before it."""
    for path in paths:
        try:
            yield from read_fast(path)
        except CaptureError as exc:
            errors.append(exc)
            return


class _Pipeline:
    """The per-exchange work and the consumers of its outcomes.

    Built from the configuration before the store is opened (whatever the configuration can refuse is
    refused here, with no run row left behind), then :meth:`attach`-ed to the run it stores into.
    """

    store: Store
    run_id: int

    def __init__(
        self,
        config: Config,
        engine: Engine,
        on_outcome: OutcomeCallback | None,
        contract: Contract | None = None,
        live: LiveSummary | None = None,
    ) -> None:
        self.matcher = endpoint_matcher(config, contract)
        self.contract = contract
        self.contract_check: ReplayCheck | None = None
        #: Every path of the spec, remembered by the store for later runs' names.
        self.spec = contract.endpoint_patterns() if contract is not None else []
        self.selector = Selector(
            include=config.replay.include,
            exclude=config.replay.exclude,
            allow_writes=config.replay.allow_writes,
        )
        self.comparator = Comparator(config.normalise, config.endpoint, coalesce=config.streams.coalesce)
        self.noise = NoiseLearner(config.noise, allow_writes=config.replay.allow_writes)
        self.clock = RunClock(config.normalise.timestamps_tolerance)
        self.engine = engine
        self.live = live if live is not None else LiveSummary()
        self.on_outcome = on_outcome
        #: Exchanges replayed, and those each backend gave no answer to (a transport error).
        self.replayed = 0
        self.unanswered: Counter[str] = Counter()
        self.shard: Shard | None = None
        #: Every capture entry's endpoint, when this process replays only part of them (a shard, a resume).
        self.capture_counts: Counter[str] | None = None
        # Session-aware replay (docs/sessions.md): ordering, per-backend tokens and generated values.
        self.sessions: SessionReplay | None = None
        resets = config.backends.legacy.reset or config.backends.candidate.reset
        if (
            config.sessions.key != "none"
            or config.auth.path
            or config.correlate
            or resets
            or config.explore.credentials
        ):
            from paritycheck.session import SessionReplay

            self.sessions = SessionReplay(config, engine)

    def attach(self, store: Store, run_id: int) -> None:
        """Store outcomes into run ``run_id`` (and, with a contract, its check) from now on."""
        self.store, self.run_id = store, run_id
        self.live.run_id = run_id  # the CLI names the run it stopped, or none when none was started
        if self.contract is not None:
            from paritycheck.contract import ReplayCheck

            self.contract_check = ReplayCheck(self.contract, store, run_id)

    def consume(self, outcome: Outcome) -> None:
        if outcome.status is not Status.SKIPPED:
            self.replayed += 1
            if outcome.status is Status.FAILED:
                for side, reply in (("legacy", outcome.legacy), ("candidate", outcome.candidate)):
                    if reply is not None and reply.error is not None:
                        self.unanswered[side] += 1
        self.store.add(self.run_id, outcome)
        if self.contract_check is not None:
            self.contract_check.add(outcome)  # validates both replies before redaction; stores violations
        self.live.add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def counted(self, exchanges: Iterator[Exchange]) -> Iterator[Exchange]:
        """Pass on every exchange, counting its endpoint: templates are then learned from the whole
        capture, so every shard (and a resumed run) names endpoints as one process would."""
        counts = self.capture_counts = Counter()
        for exchange in exchanges:
            counts[self.matcher.endpoint(exchange.request.method, exchange.request.path)] += 1
            yield exchange

    def replayable(self, exchanges: Iterator[Exchange]) -> Iterator[tuple[Exchange, str]]:
        """Pass on the exchanges to replay; record the skipped ones at once."""
        for exchange in exchanges:
            request = exchange.request
            endpoint = self.matcher.endpoint(request.method, request.path)
            reason = self.selector.skip_reason(exchange)
            if reason is None:
                yield exchange, endpoint
            else:
                self.consume(
                    Outcome(exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=reason)
                )

    async def work(self, item: tuple[Exchange, str]) -> Outcome:
        exchange, endpoint = item
        request = exchange.request
        if self.sessions is not None:
            return await self._session_work(exchange, endpoint)
        if not self.noise.wants_sample(endpoint, exchange):
            legacy, candidate = await self.engine.pair(request)
            return self.learn(self.judge(exchange, endpoint, legacy, candidate))
        # A/A calibration: ask the legacy (or its secondary instance) again, at the same moment.
        side = "legacy_secondary" if self.engine.has_secondary else "legacy"
        (legacy, candidate), again = await asyncio.gather(
            self.engine.pair(request), self.engine.ask(side, request)
        )
        outcome = self.learn(self.judge(exchange, endpoint, legacy, candidate))
        if legacy.error is None and again.error is None:
            self.noise.add_sample(endpoint, self.comparator.compare(endpoint, legacy, again))
        return dataclasses.replace(outcome, legacy_again=again)

    async def _session_work(self, exchange: Exchange, endpoint: str) -> Outcome:
        """Like :meth:`work`, with each backend's own token and generated values (and the again-ask too)."""
        assert self.sessions is not None
        again_side = None
        # Never a write twice: the legacy would hold one more object than the candidate from then on.
        if exchange.request.is_safe and self.noise.wants_sample(endpoint, exchange):
            again_side = "legacy_secondary" if self.engine.has_secondary else "legacy"
        legacy, candidate, again, group = await self.sessions.pair(exchange, endpoint, again=again_side)
        outcome = self.learn(self.judge(exchange, endpoint, legacy, candidate, group=group))
        if again is None:
            return outcome
        if legacy.error is None and again.error is None:
            self.noise.add_sample(endpoint, self.comparator.compare(endpoint, legacy, again))
        return dataclasses.replace(outcome, legacy_again=again)

    def unreachable(self) -> list[str]:
        """The backends that answered none of the replayed exchanges."""
        if not self.replayed:
            return []
        return [side for side in ("legacy", "candidate") if self.unanswered[side] == self.replayed]

    def learn(self, outcome: Outcome) -> Outcome:
        """Count every compared exchange's differences as raw evidence for noise classification."""
        if outcome.status in (Status.MATCHED, Status.MISMATCHED):
            self.noise.add_raw(outcome.endpoint, outcome.differences)
        return outcome

    def learn_templates(self) -> bool:
        """After the replay: name endpoints as learned and as the store remembers them (run/naming.py)."""
        counts = self.capture_counts if self.capture_counts is not None else self.live.endpoint_counts()
        names = name_endpoints(self.store, self.run_id, counts, fixed=self.matcher.fixed, spec=self.spec)
        if names:
            self.noise.rename(names)
        return bool(names)

    def classify_noise(self) -> int:
        """After the replay: flag differences on noise paths in the store; return how many paths."""
        if self.shard is not None:  # classed on the evidence of every shard so far (store/shards.py)
            config, writes = self.noise.config, self.noise.allow_writes
            return len(
                self.store.merge_noise(
                    self.run_id,
                    shard=self.shard.index,
                    evidence=self.noise.evidence(),
                    classify=lambda stored: classify_merged(config, stored, allow_writes=writes),
                )
            )
        paths = self.noise.classify()
        if paths:
            self.store.apply_noise(self.run_id, paths)
        return len(paths)

    def judge(
        self,
        exchange: Exchange,
        endpoint: str,
        legacy: Reply,
        candidate: Reply,
        *,
        group: Group | None = None,
    ) -> Outcome:
        failed = failed_outcome(exchange, endpoint, legacy, candidate)
        if failed is not None:
            return failed
        differences = self.comparator.compare(endpoint, legacy, candidate)
        if self.sessions is not None:  # each backend's own value for one captured value is no difference
            differences = self.sessions.settle(group, differences)
        # instants each backend read off its own clock during the run: one event, two clocks
        differences, clocked = self.clock.settle(
            differences, elapsed=max(legacy.elapsed_ms, candidate.elapsed_ms) / 1000
        )
        if clocked:
            self.noise.add_clock(endpoint, clocked)
        return Outcome(
            exchange=exchange,
            endpoint=endpoint,
            status=Status.MISMATCHED if differences else Status.MATCHED,
            legacy=legacy,
            candidate=candidate,
            differences=differences,
            noise=clocked,
        )


@with_fewer_collections  # per-exchange objects die by reference counting (common/gctune.py)
async def replay_captures(
    config: Config,
    captures: Sequence[Path],
    *,
    db: Path,
    on_outcome: OutcomeCallback | None = None,
    transport: Transport | None = None,
    contract: Contract | None = None,
    live: LiveSummary | None = None,
    shard: Shard | None = None,
    resume: bool = False,
    resume_run: int | None = None,
    name: str | None = None,
    split: Split | None = None,
) -> RunResult:
    """Replay every exchange of ``captures`` against both backends and store the outcomes in ``db``.

    With ``resume``, continue the newest interrupted or crashed run (``resume_run``: that one) of the
    same captures instead of starting one, skipping what it stored (docs/resume.md).

    ``live`` is the summary counted as outcomes arrive (a new one if not given): pass one to read its
    counts during the run, as the progress bar does.

    With ``contract``, both replies of every exchange are validated against it as they arrive, the
    violations stored with the run, and endpoints named after the spec's templates.

    Raises :class:`CaptureError` after storing everything read before a malformed entry. On
    cancellation (Ctrl-C, or SIGTERM through :func:`paritycheck.common.aio.run`) the run is finished as
    ``interrupted`` with every outcome so far stored; after a capture error, as ``capture_error``.

    With ``shard``, only that part of the captures is replayed, into the run named by it, which the
    other shards join (:mod:`paritycheck.run.shards`); the run is finished by its last shard. With
    ``resume``, the newest interrupted or crashed run (or ``resume_run``) is continued (run/resume.py).
    ``split``: every entry's shard, worked out by the ``replay --workers`` command that started this
    shard (used only for the very same captures). ``name``: the name of a new run that is not sharded.
    """
    check_backends(config)
    # Digesting a capture of hundreds of MB takes a while: keep the event loop free meanwhile.
    captures_info = await asyncio.to_thread(describe_captures, captures)
    backends = redacted_backends(config)
    from paritycheck import __version__

    # Everything the configuration can refuse (backend URLs, endpoint patterns, session rules) is built
    # before the store is opened: a refused configuration leaves no run behind.
    own_transport = transport is None
    transport = transport or make_transport(
        config.replay.client, concurrency=config.replay.concurrency, max_body=config.replay.max_body
    )
    engine = Engine(
        legacy=config.backends.legacy,
        candidate=config.backends.candidate,
        transport=transport,
        timeout=config.replay.timeout,
        legacy_secondary=config.backends.legacy_secondary,
        stream_limits=stream_limits(config, endpoint_matcher(config, contract)),
    )
    pipeline = _Pipeline(config, engine, on_outcome, contract, live)
    store = Store.open(db)
    # This run's key for the hashes shown in place of secrets: --workers hand theirs down, so equal
    # secrets get equal marks in every worker's part of the run.
    redact.new_key(redact.inherited_key())
    if await asyncio.to_thread(lambda: sum(Path(p).stat().st_size for p in captures)) >= OFFLOAD_MIN_BYTES:
        store.write_in_child()
    done: set[tuple[str, int]] | frozenset[tuple[str, int]] = set()
    if resume:  # continue a stopped run: its stored entries are skipped (run/resume.py)
        from paritycheck.run.resume import plan_resume

        try:
            plan = plan_resume(store, config, list(captures), captures_info, run_id=resume_run)
        except BaseException:
            store.close()
            raise
        run_id, done = plan.run_id, plan.done
    elif shard is None:
        run_id = store.start_run(
            tool_version=__version__,
            config=config_record(config),
            backends=backends,
            captures=captures_info,
            started=_now(),
            name=name,
        )
    else:
        try:
            record = config_record(config)
            run_id, done = store.join_shard(
                shard.name, shard=shard.index, count=shard.count,
                fingerprint=fingerprint(record, captures_info), tool_version=__version__,
                config=record, backends=backends, captures=captures_info,
            )  # fmt: skip
            done = rename_done(done, store.run(run_id).captures, captures_info)
        except BaseException:
            store.close()
            raise
    # A later command can tell a killed run by its heartbeat (store/liveness.py).
    heartbeat = Heartbeat(db, run_id).start()
    pipeline.attach(store, run_id)
    pipeline.shard = shard
    contract_report = None
    noise_paths = 0
    renamed = False
    errors: list[CaptureError] = []
    status = "failed"
    sessions = pipeline.sessions
    try:
        if sessions is not None:
            await sessions.prepare()  # reset commands, then [auth] logins
        exchanges = _exchanges(list(captures), errors)

        # The hosts to replay, from the first entries as read (before shard and resume filters: the same
        # choice in every shard); several hosts, or chosen ones, are recorded (capture/hosts.py).
        def keep_hosts(hosts: HostChoice) -> None:
            store.update_meta(run_id, {"hosts": hosts_record(hosts)})

        exchanges = deciding(exchanges, host_chooser(config, pipeline.selector, record=keep_hosts))
        if shard is not None or done:
            exchanges = pipeline.counted(exchanges)
        if shard is not None:
            given = split.matching(captures_info) if split is not None else None
            splitter = await asyncio.to_thread(Splitter, config, list(captures), shard, split=given)
            exchanges = splitter.filter(exchanges, set(done))
        elif done:
            exchanges = (e for e in exchanges if (e.source, e.index) not in done)
        items = pipeline.replayable(exchanges)
        outcomes = schedule(
            items,
            pipeline.work,
            concurrency=config.replay.concurrency,
            rate=config.replay.rate,
            session_of=sessions.session_of if sessions is not None else None,
        )
        # aclosing: if a consumer fails, the replays still in flight are cancelled now, not at collection.
        async with aclosing(outcomes):
            async for outcome in outcomes:
                pipeline.consume(outcome)
        store.flush()
        renamed = pipeline.learn_templates()
        # Noise is classed with all the evidence in: raw rates are only known once the run is over.
        noise_paths = pipeline.classify_noise()
        status = "capture_error" if errors else "complete"
        if status == "complete" and pipeline.unreachable():
            status = "unreachable"  # a backend answered nothing: no verdict (docs/run-status.md)
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    except StoreUnavailable:  # nothing more can be written: the run stays "running", later "crashed"
        status = "lost"
        raise
    except store.outages as exc:  # the database went away outside a flush (a read, a rename)
        status = "lost"
        raise store.lost(exc) from None
    finally:
        try:
            if own_transport:
                await transport.aclose()
        finally:
            if status == "lost":
                heartbeat.stop()
                store.abandon()
            else:
                if pipeline.contract_check is not None:
                    contract_report = pipeline.contract_check.finish()
                try:
                    finish(store, run_id, status=status, shard=shard, meta=sessions, heartbeat=heartbeat)
                    run_info = store.run(run_id)
                except (StoreUnavailable, *store.outages) as exc:  # type: ignore[misc]  # gone at the end
                    heartbeat.stop()
                    store.abandon()
                    raise exc if isinstance(exc, StoreUnavailable) else store.lost(exc) from None
                store.close()
    if errors:
        raise errors[0]
    with Store.open(db, create=False) as reread:
        if noise_paths or renamed or resume:  # reclassified, renamed, or partly stored: read it all back
            summary = summarise(reread, run_id)
        else:  # the counts as they came, and the findings, which only the store can cluster
            summary = dataclasses.replace(
                pipeline.live.summary(run=run_info), findings=of_run(reread, run_id)
            )
    return RunResult(
        run_id=run_id,
        summary=summary,
        status=status,
        db=db,
        contract=contract_report,
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
