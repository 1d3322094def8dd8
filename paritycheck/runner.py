"""Run a replay: the pipeline capture → select → replay → compare → store, as one library call.

The CLI is a thin shell over :func:`replay_captures` and :func:`dry_run`; tests call them directly.
A run is a stream of outcomes with several consumers: the store writer, the live summary and an optional
``on_outcome`` callback (the progress bar). Skipped exchanges never occupy a replay slot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paritycheck import capture, redact
from paritycheck.compare import Comparator
from paritycheck.config import Backend, Config
from paritycheck.endpoints import EndpointMatcher
from paritycheck.errors import CaptureError, ConfigError
from paritycheck.models import Exchange, Outcome, Reply, Status
from paritycheck.replay import Engine, schedule
from paritycheck.select import Selector
from paritycheck.store import Store
from paritycheck.summary import LiveSummary, RunSummary
from paritycheck.transport import Transport, make_transport

OutcomeCallback = Callable[[Outcome], None]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished (or interrupted) run produced."""

    run_id: int
    summary: RunSummary
    status: str
    db: Path

    @property
    def at_parity(self) -> bool:
        return self.summary.mismatched == 0 and self.summary.failed == 0


def check_backends(config: Config) -> None:
    """Both backends must be configured with an http(s) base URL."""
    for side in ("legacy", "candidate"):
        url = getattr(config.backends, side).url
        if not url:
            raise ConfigError(
                f"no {side} backend configured",
                hint=f'pass --{side} URL or set [backends] {side} = "http://..." in paritycheck.toml',
            )
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{side} backend {url!r} is not an http(s) URL",
                hint=f"use a base URL such as http://127.0.0.1:8000 for --{side}",
            )


def config_record(config: Config) -> dict[str, Any]:
    """The effective configuration as stored with a run, with backend header values redacted."""
    data = dataclasses.asdict(config)
    for side in ("legacy", "candidate"):
        headers = tuple(data["backends"][side]["headers"].items())
        data["backends"][side]["headers"] = dict(redact.headers(tuple((k.lower(), v) for k, v in headers)))
    return data


def _exchanges(paths: Sequence[Path], errors: list[CaptureError]) -> Iterator[Exchange]:
    """Chain the captures; a capture error ends the stream but keeps what was read before it."""
    for path in paths:
        try:
            yield from capture.read(path)
        except CaptureError as exc:
            errors.append(exc)
            return


class _Pipeline:
    """The per-exchange work and the consumers of its outcomes."""

    def __init__(
        self, config: Config, engine: Engine, store: Store, run_id: int, on_outcome: OutcomeCallback | None
    ) -> None:
        self.matcher = EndpointMatcher(rule.match for rule in config.endpoint)
        self.selector = Selector(
            include=config.replay.include,
            exclude=config.replay.exclude,
            allow_writes=config.replay.allow_writes,
        )
        self.comparator = Comparator(config.normalise, config.endpoint)
        self.engine = engine
        self.store = store
        self.run_id = run_id
        self.live = LiveSummary()
        self.on_outcome = on_outcome

    def consume(self, outcome: Outcome) -> None:
        self.store.add(self.run_id, outcome)
        self.live.add(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

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
        legacy, candidate = await self.engine.pair(exchange.request)
        return self.judge(exchange, endpoint, legacy, candidate)

    def judge(self, exchange: Exchange, endpoint: str, legacy: Reply, candidate: Reply) -> Outcome:
        if legacy.error is not None or candidate.error is not None:
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
        differences = self.comparator.compare(endpoint, legacy, candidate)
        return Outcome(
            exchange=exchange,
            endpoint=endpoint,
            status=Status.MISMATCHED if differences else Status.MATCHED,
            legacy=legacy,
            candidate=candidate,
            differences=differences,
        )


async def replay_captures(
    config: Config,
    captures: Sequence[Path],
    *,
    db: Path,
    on_outcome: OutcomeCallback | None = None,
    transport: Transport | None = None,
) -> RunResult:
    """Replay every exchange of ``captures`` against both backends and store the outcomes in ``db``.

    Raises :class:`CaptureError` after storing everything read before a malformed entry. On
    cancellation (Ctrl-C) the run is finished as ``interrupted`` with every outcome so far stored.
    """
    check_backends(config)
    # Digesting a capture of hundreds of MB takes a while: keep the event loop free meanwhile.
    captures_info = await asyncio.to_thread(describe_captures, captures)
    backends = {"legacy": config.backends.legacy.url, "candidate": config.backends.candidate.url}
    if config.backends.legacy_secondary:
        backends["legacy_secondary"] = config.backends.legacy_secondary
    from paritycheck import __version__

    store = Store.open(db)
    run_id = store.start_run(
        tool_version=__version__,
        config=config_record(config),
        backends=backends,
        captures=captures_info,
        started=_now(),
    )
    own_transport = transport is None
    transport = transport or make_transport("aiohttp", concurrency=config.replay.concurrency)
    engine = Engine(
        legacy=config.backends.legacy,
        candidate=config.backends.candidate,
        transport=transport,
        timeout=config.replay.timeout,
        legacy_secondary=config.backends.legacy_secondary,
    )
    pipeline = _Pipeline(config, engine, store, run_id, on_outcome)
    errors: list[CaptureError] = []
    status = "failed"
    try:
        items = pipeline.replayable(_exchanges(list(captures), errors))
        outcomes = schedule(
            items, pipeline.work, concurrency=config.replay.concurrency, rate=config.replay.rate
        )
        # aclosing: if a consumer fails, the replays still in flight are cancelled now, not at collection.
        async with aclosing(outcomes):
            async for outcome in outcomes:
                pipeline.consume(outcome)
        status = "failed" if errors else "complete"
    except BaseException:
        status = "interrupted"
        raise
    finally:
        try:
            if own_transport:
                await transport.aclose()
        finally:
            store.finish_run(run_id, status=status)
            run_info = store.run(run_id)
            store.close()
    if errors:
        raise errors[0]
    return RunResult(run_id=run_id, summary=pipeline.live.summary(run=run_info), status=status, db=db)


@dataclass(frozen=True, slots=True)
class Planned:
    """One line of a dry run: what would be sent, or why not."""

    exchange: Exchange
    endpoint: str
    skip: str | None


def dry_run(config: Config, captures: Sequence[Path]) -> Iterator[Planned]:
    """Read and filter the captures and say what would be sent, sending nothing."""
    matcher = EndpointMatcher(rule.match for rule in config.endpoint)
    selector = Selector(
        include=config.replay.include, exclude=config.replay.exclude, allow_writes=config.replay.allow_writes
    )
    for path in captures:
        for exchange in capture.read(path):
            request = exchange.request
            yield Planned(
                exchange, matcher.endpoint(request.method, request.path), selector.skip_reason(exchange)
            )


def describe_captures(captures: Sequence[Path]) -> list[dict[str, str]]:
    """Name and SHA-256 of each capture, as recorded with a run; a missing file is a capture error."""
    for path in captures:
        if not Path(path).is_file():
            raise CaptureError("no such file", file=str(path), hint="check the capture path")
    return [{"name": str(p), "digest": capture.digest(p)} for p in captures]


def backend_url(backend: Backend, target: str) -> str:
    """The URL a request would go to on ``backend``."""
    return backend.url.rstrip("/") + target


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
