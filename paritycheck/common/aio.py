"""Running the async core from sync code: one event loop per run, uvloop's when it is installed.

SIGTERM (``kill``, a CI job cancelled, ``docker stop``) is handled like Ctrl-C: the run is cancelled,
flushes what it has and is recorded ``interrupted``; :func:`run` then raises :class:`Terminated`, a
KeyboardInterrupt, so that the CLI exits 143 instead of 130.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

__all__ = ["Terminated", "loop_factory", "run"]

T = TypeVar("T")


class Terminated(KeyboardInterrupt):
    """The run was stopped by SIGTERM (handled like Ctrl-C)."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when uvloop is importable (Linux, macOS), else None (the default loop)."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion in a new event loop; Ctrl-C cancels it and raises KeyboardInterrupt,
    SIGTERM cancels it the same way and raises :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(coro)
    terminated = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal terminated
        terminated = True
        handler = signal.getsignal(signal.SIGINT)  # the Runner's: cancels the main task, once
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(coro)
    except KeyboardInterrupt as exc:
        if terminated and not isinstance(exc, Terminated):
            raise Terminated from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
