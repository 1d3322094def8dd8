"""Fewer garbage collections during a run, and the collector as it was afterwards."""

from __future__ import annotations

import asyncio
import gc

import pytest

from paritycheck.common.gctune import GEN0_THRESHOLD, fewer_collections, with_fewer_collections


def test_the_threshold_is_raised_and_restored_and_nothing_stays_frozen() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] >= GEN0_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_restored_when_the_run_fails() -> None:
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
