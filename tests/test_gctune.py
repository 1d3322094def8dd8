"""Fewer garbage collections during a run, and the collector as it was afterwards."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from paritycheck.common.gctune import GEN0_THRESHOLD, fewer_collections, with_fewer_collections


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The collector as in a new process, nothing frozen; the test process's own freeze
    (tests/conftest.py) is made again afterwards."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


def test_the_threshold_is_raised_and_restored_and_nothing_stays_frozen(unfrozen: None) -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_what_the_process_froze_stays_frozen() -> None:
    """A host that froze its own objects (here the test process, after collection) keeps them frozen:
    the run neither thaws them nor freezes more."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == frozen


def test_restored_when_the_run_fails(unfrozen: None) -> None:
    before = gc.get_threshold()

    @with_fewer_collections
    async def run(fail: bool) -> int:
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
        if fail:
            raise KeyboardInterrupt
        return 7

    assert asyncio.run(run(False)) == 7
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run(True))
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_cycles_are_still_collected() -> None:
    with fewer_collections():

        class Node:
            other: object = None

        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
