"""Fresh state: run each backend's ``reset`` command before a replay, and record what happened.

The command runs in a shell with ``PARITYCHECK_SIDE`` (legacy or candidate) and
``PARITYCHECK_BACKEND_URL`` set, within a timeout (the whole process group is killed after it). Its
exit status, duration and the last lines of its output are kept for the run's ``meta``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import asdict, dataclass
from typing import Any

from paritycheck.config import Backends
from paritycheck.errors import BackendError

__all__ = ["ResetResult", "check", "run_reset", "run_resets"]

TAIL = 2000  # characters of output kept
_KEEP = 64 * 1024  # bytes read while the command runs


@dataclass(frozen=True, slots=True)
class ResetResult:
    """One reset command's run."""

    side: str
    command: str
    exit_status: int | None
    seconds: float
    output_tail: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def run_reset(side: str, command: str, *, url: str, timeout: float) -> ResetResult:  # noqa: ASYNC109
    """Run one reset command; never raises for the command's own failure."""
    env = {**os.environ, "PARITYCHECK_SIDE": side, "PARITYCHECK_BACKEND_URL": url}
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
    except OSError as exc:
        return ResetResult(side, command, None, 0.0, f"cannot start: {exc.strerror or exc}")
    output = bytearray()

    async def read() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(8192):
            output.extend(chunk)
            if len(output) > _KEEP:
                del output[: len(output) - _KEEP]

    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(read(), process.wait()), timeout)
    except TimeoutError:
        timed_out = True
        _kill(process.pid)
        await process.wait()
    except BaseException:
        _kill(process.pid)
        await process.wait()
        raise
    tail = output.decode("utf-8", "replace")[-TAIL:]
    return ResetResult(
        side, command, process.returncode, round(time.monotonic() - started, 3), tail, timed_out
    )


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def run_resets(backends: Backends, *, timeout: float) -> list[ResetResult]:  # noqa: ASYNC109
    """Run the legacy then the candidate reset command (those configured), one after the other."""
    results = []
    for side in ("legacy", "candidate"):
        backend = getattr(backends, side)
        if backend.reset:
            results.append(await run_reset(side, backend.reset, url=backend.url, timeout=timeout))
    return results


def check(results: list[ResetResult]) -> None:
    """Raise :class:`BackendError` for the first reset that failed or timed out."""
    for r in results:
        if not r.ok:
            why = "timed out" if r.timed_out else f"exited with status {r.exit_status}"
            last = r.output_tail.strip().splitlines()[-1:] or [""]
            raise BackendError(
                f"reset of the {r.side} backend {why}" + (f": {last[0][:200]}" if last[0] else ""),
                hint=f"fix [backends.{r.side}] reset (its output is in the run's meta); "
                "both backends must start from the same data",
            )
