"""Keep the shadow path from slowing the client path: shadows wait while the event loop lags.

One event loop serves clients and runs the shadows. When the machine cannot keep up with both, the
loop's lag (how late a short timer fires) grows and every client waits for it. The shadow workers
then pause, the bounded queue fills and overflow is dropped and counted: coverage is given up, never
the client's latency.
"""

from __future__ import annotations

import asyncio
import contextlib


class LagGuard:
    """Measures the loop's lag every ``interval`` s; :meth:`wait_calm` waits while it is over ``limit``."""

    def __init__(self, *, limit: float = 0.002, interval: float = 0.01) -> None:
        self.limit = limit
        self.interval = interval
        self.lag = 0.0
        self._task: asyncio.Task[None] | None = None
        self._calm = asyncio.Event()
        self._calm.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._measure())

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            late = loop.time() - before - self.interval
            # Smoothed, so that one slow callback does not stall the shadows, but a backlog does.
            self.lag = 0.7 * self.lag + 0.3 * max(late, 0.0)
            if self.lag > self.limit:
                self._calm.clear()
            else:
                self._calm.set()

    async def wait_calm(self) -> None:
        await self._calm.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._calm.set()
