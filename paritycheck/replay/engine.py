"""The async replay engine: send a request to both backends, and schedule work over a stream of items.

:class:`Engine` knows the backends and the transport; :func:`schedule` knows concurrency, rate and
sessions. Neither knows what is done with an exchange (compare, store): that is the caller's ``work``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any, TypeVar

from paritycheck.config import Backend
from paritycheck.errors import ConfigError
from paritycheck.models import Reply, Request
from paritycheck.replay.streams import Limits, replay_stream
from paritycheck.replay.transport import Transport, check_base_url

__all__ = ["SIDES", "Engine", "schedule"]

T = TypeVar("T")
R = TypeVar("R")

SIDES = ("legacy", "candidate", "legacy_secondary")


class Engine:
    """Sends requests to the legacy and candidate backends (and an optional second legacy instance)."""

    def __init__(
        self,
        *,
        legacy: Backend,
        candidate: Backend,
        transport: Transport,
        timeout: float,
        legacy_secondary: str | None = None,
        stream_limits: Callable[[Request], Limits] | None = None,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        #: The read limits of a stream request (``[streams]`` plus its endpoint's own), docs/streams.md.
        self.stream_limits = stream_limits or (lambda _request: Limits())
        # side -> (base URL, configured headers); the secondary legacy instance uses legacy's headers.
        self._sides: dict[str, tuple[str, dict[str, str]]] = {
            "legacy": (check_base_url(legacy.url), dict(legacy.headers)),
            "candidate": (check_base_url(candidate.url), dict(candidate.headers)),
        }
        if legacy_secondary:
            self._sides["legacy_secondary"] = (check_base_url(legacy_secondary), dict(legacy.headers))

    @property
    def has_secondary(self) -> bool:
        return "legacy_secondary" in self._sides

    async def ask(self, side: str, request: Request) -> Reply:
        """Send ``request`` to one side: ``legacy``, ``candidate`` or ``legacy_secondary``."""
        try:
            url, headers = self._sides[side]
        except KeyError:
            if side == "legacy_secondary":
                raise ConfigError(
                    "no secondary legacy backend configured", hint="set [backends] legacy_secondary = URL"
                ) from None
            raise ValueError(f"unknown side {side!r}; expected one of {', '.join(SIDES)}") from None
        if request.stream is not None:
            return await self._stream(url, request, headers=headers)
        return await self.transport.send(url, request, headers=headers, timeout=self.timeout)

    async def _stream(
        self,
        url: str,
        request: Request,
        *,
        headers: Mapping[str, str],
        timeout: float = 0,  # noqa: ASYNC109 - the transport's signature; streams use self.timeout
    ) -> Reply:
        """A stream is not a request/response: it has its own client and read limits (replay/streams.py)."""
        return await replay_stream(
            url, request, headers=headers, limits=self.stream_limits(request), timeout=self.timeout
        )

    async def pair(self, request: Request) -> tuple[Reply, Reply]:
        """Send ``request`` to legacy and candidate concurrently; return ``(legacy, candidate)``."""
        send = self.transport.send if request.stream is None else self._stream
        cand_url, cand_headers = self._sides["candidate"]
        legacy_url, legacy_headers = self._sides["legacy"]
        # One extra task per pair (not gather's two plus a future): legacy runs in the caller's task.
        task = asyncio.get_running_loop().create_task(
            send(cand_url, request, headers=cand_headers, timeout=self.timeout)
        )
        try:
            legacy = await send(legacy_url, request, headers=legacy_headers, timeout=self.timeout)
        except BaseException:
            task.cancel()
            await asyncio.wait((task,))
            if not task.cancelled():
                task.exception()  # retrieved, so that asyncio does not log it as never retrieved
            raise
        return legacy, await task


async def schedule(
    items: AsyncIterable[T] | Iterable[T],
    work: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    rate: float = 0.0,
    session_of: Callable[[T], Hashable | None] | None = None,
) -> AsyncGenerator[R, None]:
    """Run ``work(item)`` over ``items``, at most ``concurrency`` at once; yield results as they complete.

    Items are read lazily: at most ``concurrency`` are running or finished but not yet consumed, plus a
    bounded number waiting for their session. ``rate`` > 0 starts at most that many items per second,
    evenly spaced. Items whose ``session_of`` key is not None run one after another in input order
    within their session. If ``work`` raises, in-flight work is cancelled and awaited, then the exception
    propagates; the same happens when the consumer is cancelled or closes the iterator (wrap the loop in
    ``contextlib.aclosing`` so that a ``break`` or an error in the loop body also cleans up at once).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if rate < 0:
        raise ValueError("rate must be 0 (unlimited) or more")
    loop = asyncio.get_running_loop()
    aiter_: AsyncIterator[T] | None = None
    iter_: Iterator[T] | None = None
    if isinstance(items, AsyncIterable):
        aiter_ = aiter(items)
    else:
        iter_ = iter(items)
    interval = 1.0 / rate if rate > 0 else 0.0
    next_start = 0.0  # loop time before which the next start must wait (smooth bucket of one token)
    # Bound on items read ahead while waiting for their session: keeps memory flat on huge captures.
    max_waiting = max(4 * concurrency, 64)

    running: set[asyncio.Future[R]] = set()
    done: deque[asyncio.Future[R]] = deque()
    session_key: dict[asyncio.Future[R], Hashable] = {}
    # key -> items of that session waiting for the running one; a key is present while its session is busy.
    sessions: dict[Hashable, deque[T]] = {}
    ready: deque[tuple[T, Hashable]] = deque()  # session items whose predecessor finished: they go first
    waiting = 0  # items in ``sessions`` deques plus ``ready``
    exhausted = False
    wake: asyncio.Future[None] | None = None
    timer: asyncio.TimerHandle | None = None

    def wake_up() -> None:
        nonlocal timer
        timer = None
        if wake is not None and not wake.done():
            wake.set_result(None)

    def on_done(fut: asyncio.Future[R]) -> None:
        nonlocal waiting
        running.discard(fut)
        done.append(fut)
        if session_key:
            key = session_key.pop(fut, None)
            if key is not None:
                queue = sessions[key]
                if queue:
                    ready.append((queue.popleft(), key))  # still counted in ``waiting``
                else:
                    del sessions[key]
        if wake is not None and not wake.done():
            wake.set_result(None)

    def start(item: T, key: Hashable | None) -> None:
        nonlocal next_start
        if interval:
            # At most one token saved up while idle: smooth, never a burst of a whole second.
            next_start = max(next_start, loop.time() - interval) + interval
        fut = asyncio.ensure_future(work(item), loop=loop)
        running.add(fut)
        if key is not None:
            session_key[fut] = key
        fut.add_done_callback(on_done)

    def may_start() -> bool:
        """Whether a slot and a rate token are free now (else arrange to be woken when the token is)."""
        nonlocal timer
        # Finished results not yet consumed hold their slot: a slow consumer is backpressure, not a pile-up.
        if len(running) + len(done) >= concurrency:
            return False
        if interval and loop.time() < next_start:
            if timer is None:
                timer = loop.call_at(next_start, wake_up)
            return False
        return True

    try:
        while True:
            # Start what can start: session successors first, then new input.
            while ready and may_start():
                waiting -= 1
                start(*ready.popleft())
            while not exhausted and not ready and waiting < max_waiting and may_start():
                if iter_ is not None:
                    try:
                        item = next(iter_)
                    except StopIteration:
                        exhausted = True
                        break
                else:
                    assert aiter_ is not None
                    try:
                        item = await anext(aiter_)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                key = session_of(item) if session_of else None
                if key is None:
                    start(item, None)
                elif key in sessions:
                    sessions[key].append(item)
                    waiting += 1
                else:
                    sessions[key] = deque()
                    start(item, key)
            if done:
                fut = done.popleft()
                yield fut.result()  # raises work's exception (or CancelledError) here
                continue
            if exhausted and not running and not waiting:
                return
            wake = loop.create_future()
            await wake
            wake = None
    finally:
        await _cancel_all(running, done)
        if timer is not None:
            timer.cancel()
        if not exhausted and aiter_ is not None and hasattr(aiter_, "aclose"):
            await aiter_.aclose()


async def _cancel_all(running: set[asyncio.Future[Any]], done: deque[asyncio.Future[Any]]) -> None:
    """Cancel running work, wait for it, and retrieve every unconsumed exception (no asyncio warnings)."""
    pending = list(running)
    for fut in pending:
        fut.cancel()
    if pending:
        await asyncio.wait(pending)
    for fut in [*pending, *done]:
        if not fut.cancelled():
            fut.exception()
