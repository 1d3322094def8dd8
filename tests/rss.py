"""Resident memory of a process, sampled while a test runs (Linux: /proc/PID/status)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


def rss_mb(pid: int | None = None) -> float:
    """The resident set size of ``pid`` (this process by default) in MiB."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


class Peak:
    """The highest resident size seen of each process, above what it had when sampling began."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.start = {name: rss_mb(pid) for name, pid in pids.items()}
        self.peak = dict(self.start)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.peak[name] = max(self.peak[name], rss_mb(pid))

    def growth(self) -> dict[str, float]:
        """MiB each process grew by at its highest."""
        self.sample()
        return {name: round(self.peak[name] - self.start[name], 1) for name in self.pids}


@asynccontextmanager
async def sampled(pids: dict[str, int | None], every: float = 0.02) -> AsyncIterator[Peak]:
    """Sample the processes' RSS every ``every`` s on the running loop while the block runs."""
    peak = Peak(pids)

    async def loop() -> None:
        while True:
            peak.sample()
            await asyncio.sleep(every)

    task = asyncio.ensure_future(loop())
    try:
        yield peak
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        peak.sample()
