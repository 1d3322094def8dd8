"""The shadow path: select, queue and replay live requests, judge the replies, store the outcomes.

Nothing here ever blocks or fails the client path: :meth:`Shadow.offer` is synchronous and never
waits; a full queue drops (and counts) the request; candidate errors become ``failed`` outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from paritycheck.capture import Selector
from paritycheck.compare import Comparator, RunClock
from paritycheck.config import Config
from paritycheck.live.metrics import DROPPED_QUEUE, DROPPED_SHUTDOWN, Metrics
from paritycheck.live.sampling import RateLimit, Sampler
from paritycheck.live.sessions import LiveSessions
from paritycheck.live.yielding import LagGuard
from paritycheck.models import Exchange, Outcome, Reply, Status
from paritycheck.noise import NoiseLearner
from paritycheck.replay import Engine
from paritycheck.run import endpoint_matcher, failed_outcome

SKIP_SAMPLE = "not in the --sample"
SKIP_RATE = "over --max-rps"

_Item = tuple[Exchange, str, Reply | None]


class Shadow:
    """A bounded queue of shadows and the workers that replay and judge them."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        sink: Callable[[Outcome], None],
        *,
        metrics: Metrics,
        queue: int = 1000,
        workers: int = 16,
        sampler: Sampler | None = None,
        rate: RateLimit | None = None,
        noise: Callable[[], NoiseLearner | None] | None = None,
        guard: LagGuard | None = None,
        sessions: LiveSessions | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = sessions  # per-backend logins and generated values (live/sessions.py)
        self.sink = sink
        self.noise = noise
        self.metrics = metrics
        self.matcher = endpoint_matcher(config)
        self.selector = Selector(
            include=config.replay.include,
            exclude=config.replay.exclude,
            allow_writes=config.replay.allow_writes,
        )
        self.comparator = Comparator(config.normalise, config.endpoint)
        self.clock = RunClock(config.normalise.timestamps_tolerance)
        self.sampler = sampler or Sampler()
        self.rate = rate or RateLimit()
        self.queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max(1, queue))
        self.guard = guard
        if guard is not None:
            guard.start()
        self._workers = [asyncio.ensure_future(self._work()) for _ in range(max(1, workers))]

    def record(self, outcome: Outcome) -> None:
        self.metrics.count(outcome)
        self.sink(outcome)

    def endpoint(self, exchange: Exchange) -> str:
        return self.matcher.endpoint(exchange.request.method, exchange.request.path)

    def offer(self, exchange: Exchange, legacy: Reply | None = None) -> None:
        """Shadow ``exchange`` later (with the legacy reply the client got, in proxy mode); never waits."""
        endpoint = self.endpoint(exchange)
        if self.sessions is not None:
            self.sessions.offered(exchange)  # writes counted, reads stamped: see Turn.stale
        reason = self.selector.skip_reason(exchange)
        if reason is None and not self.sampler.keep(exchange.request):
            reason = SKIP_SAMPLE
        if reason is None and not self.rate.allow():
            reason = SKIP_RATE
        if reason is not None:
            if self.sessions is not None and reason in (SKIP_SAMPLE, SKIP_RATE):
                self.sessions.lost(exchange, reason)  # a write the candidate never got
            self.record(Outcome(exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=reason))
            return
        try:
            self.queue.put_nowait((exchange, endpoint, legacy))
        except asyncio.QueueFull:
            if self.sessions is not None:
                self.sessions.lost(exchange, DROPPED_QUEUE)
            self.record(
                Outcome(exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=DROPPED_QUEUE)
            )
        self.metrics.queue_depth.set(self.queue.qsize())

    def dropped(self, exchange: Exchange, reason: str) -> None:
        """A copy dropped before it reached :meth:`offer` (the listener's hand-off full): stored as such,
        and a write of its session marked lost."""
        if self.sessions is not None:
            self.sessions.offered(exchange)
            self.sessions.lost(exchange, reason)
        self.record(
            Outcome(exchange=exchange, endpoint=self.endpoint(exchange), status=Status.SKIPPED, reason=reason)
        )

    def failed(self, exchange: Exchange, legacy: Reply) -> None:
        """The legacy did not answer (the client got 502): counted as failed, the candidate not asked."""
        self.record(
            Outcome(
                exchange=exchange,
                endpoint=self.endpoint(exchange),
                status=Status.FAILED,
                legacy=legacy,
                reason=f"legacy: {legacy.error}",
            )
        )

    def malformed(self, reason: str) -> None:
        """A client request refused as malformed before it became an exchange: only counted."""
        self.metrics.malformed(reason)

    async def _work(self) -> None:
        while True:
            if self.guard is not None:
                await self.guard.wait_calm()  # the client path first: a lagging loop pauses the shadows
            exchange, endpoint, legacy = await self.queue.get()
            try:
                outcome = await self._shadow(exchange, endpoint, legacy)
            except asyncio.CancelledError:  # shutdown with this shadow in flight: still accounted for
                self.record(
                    Outcome(
                        exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=DROPPED_SHUTDOWN
                    )
                )
                raise
            except Exception as exc:  # a bug in judging one exchange must not stop the shadow path
                outcome = Outcome(
                    exchange=exchange,
                    endpoint=endpoint,
                    status=Status.FAILED,
                    reason=f"internal error: {exc}",
                )
            finally:
                self.queue.task_done()
                self.metrics.queue_depth.set(self.queue.qsize())
            self.record(outcome)

    async def _shadow(self, exchange: Exchange, endpoint: str, legacy: Reply | None) -> Outcome:
        request = exchange.request
        # Taken before any await, so a session's shadows keep the order they left the queue in.
        turn = self.sessions.turn(exchange, endpoint, legacy) if self.sessions is not None else None
        if turn is not None and turn.skip is not None:
            return Outcome(exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=turn.skip)
        if turn is not None:
            legacy, candidate = await turn.pair(legacy)
        elif legacy is None:  # mirror mode: both backends are asked now
            legacy, candidate = await self.engine.pair(request)
        else:
            candidate = await self.engine.ask("candidate", request)
        failed = failed_outcome(exchange, endpoint, legacy, candidate)
        if failed is not None:
            return failed
        differences = self.comparator.compare(endpoint, legacy, candidate)
        if turn is not None:  # each backend's own value for one generated value is no difference
            differences = turn.settle(differences)
        # Instants each backend read off its own clock while listening: one event, two clocks (as replay).
        differences, clocked = self.clock.settle(
            differences, elapsed=max(legacy.elapsed_ms, candidate.elapsed_ms) / 1000
        )
        again = None
        learner = self.noise() if self.noise is not None else None
        if learner is not None:
            if clocked:
                learner.add_clock(endpoint, clocked)
            learner.add_raw(endpoint, differences)
            # A/A calibration as in replay, for a few safe requests per endpoint and window: a write is
            # never sent to the legacy twice.
            stale = turn is not None and request.is_safe and turn.stale()
            if request.is_safe and not stale and learner.wants_sample(endpoint, exchange):
                again = await (turn.again() if turn is not None else self.engine.ask("legacy", request))
                if again.error is None:
                    learner.add_sample(endpoint, self.comparator.compare(endpoint, legacy, again))
        return Outcome(
            exchange=exchange,
            endpoint=endpoint,
            status=Status.MISMATCHED if differences else Status.MATCHED,
            legacy=legacy,
            candidate=candidate,
            differences=differences,
            noise=clocked,
            legacy_again=again,
        )

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a bounded drain is the point
        """Wait up to ``timeout`` s for queued shadows; drop (and count) whatever is left, stop workers."""
        if self.guard is not None:
            await self.guard.stop()  # no clients any more: drain at full speed
            self.guard = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        while not self.queue.empty():
            exchange, endpoint, _ = self.queue.get_nowait()
            self.record(
                Outcome(exchange=exchange, endpoint=endpoint, status=Status.SKIPPED, reason=DROPPED_SHUTDOWN)
            )
        self.metrics.queue_depth.set(0)
