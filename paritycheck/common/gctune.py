"""Fewer garbage collections during a replay: its per-exchange objects are freed by reference counting.

CPython starts a generation-0 collection every 700 net container allocations. A replay keeps ~32
requests in flight, each holding hundreds of objects (aiohttp's request, response, futures; the
exchange, replies and outcome), so that count is reached every few exchanges even though nearly all of
them die by reference counting, and each collection walks everything young. Measured on the bench's
end-to-end run (20,000 pairs): 1,600-1,900 collections, 0.5-1.0 s of an 8 s run, 10-12% of the event
loop's time. With the objects alive at the start frozen out of the collector (``gc.freeze``) and a
generation-0 threshold of 20,000, the same run made 1-3 collections (6-11 ms). Cycles are still
collected, only less often: memory stays bounded.

A process that froze objects of its own (a pre-forking server, a test runner, paritycheck's live helper
after its set-up) keeps them frozen: the freeze is only made, and undone, where nothing was frozen
before. ``gc.unfreeze`` has no notion of whose objects it thaws; it used to put the host's whole frozen
heap back under the collector after a replay, and each full collection then walked it again (in the
test processes, ~1 s of CPU each per suite run).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

__all__ = ["GEN0_THRESHOLD", "fewer_collections", "with_fewer_collections"]

P = ParamSpec("P")
R = TypeVar("R")

#: Net container allocations between two generation-0 collections while a replay runs.
GEN0_THRESHOLD = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the generation-0 threshold and, unless the process froze objects of its own, freeze the
    objects alive now; both undone on exit."""
    before = gc.get_threshold()
    own_freeze = gc.get_freeze_count() == 0
    if own_freeze:
        gc.freeze()
    gc.set_threshold(max(before[0], GEN0_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if own_freeze:
            gc.unfreeze()


def with_fewer_collections(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate a coroutine function: it runs in :func:`fewer_collections`."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fewer_collections():
            return await fn(*args, **kwargs)

    return wrapper
