"""A shard process killed mid-run (SIGKILL: no flush, no goodbye) leaves its PostgreSQL run resumable.

Issue 15: running the same shard again adds only what is missing, and the merged run then equals one
process's run of the same capture: no outcome lost, none stored twice.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import shardcase as sc

from paritycheck.store import Store, describe_shards
from tests.servers import serve


@contextmanager
def slow_backends(delay: float) -> Iterator[tuple[str, str]]:
    """The shard case's backends, each answer ``delay`` seconds late: a shard takes long enough to kill."""

    @web.middleware
    async def late(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        await asyncio.sleep(delay)
        return await handler(request)

    with ExitStack() as stack:
        apps = [sc._app(False), sc._app(True)]
        for app in apps:
            app.middlewares.append(late)
        yield stack.enter_context(serve(apps[0])), stack.enter_context(serve(apps[1]))


def _stored(dsn: str, name: str) -> int:
    with Store.open(dsn, create=False) as store:
        run_id = store.run_id_named(name)
        return 0 if run_id is None else len(store.stored_entries(run_id))


def test_a_killed_shard_is_resumed_by_running_it_again(tmp_path: Path, pg_dsn: str) -> None:
    har = sc.capture(tmp_path / "c.har")
    with slow_backends(0.05) as (legacy, candidate):
        single = sc.invoke(sc.replay_args(har, tmp_path / "one.db", legacy, candidate))
        assert single.returncode == 1, single.stderr

        def shard(i: int, *extra: str) -> list[str]:
            args = ("--shard", f"{i}/2", "--run-name", "nightly", *extra)
            return sc.replay_args(har, pg_dsn, legacy, candidate, *args)

        # Shard 1, one exchange at a time, each 0.05 s: killed once part of it is stored.
        victim = sc.start(shard(1, "--concurrency", "1"), tmp_path)
        deadline = time.monotonic() + 120
        while _stored(pg_dsn, "nightly") < 10 and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim.poll() is None, "shard 1 finished before it could be killed: pace it slower"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
        for stream in (victim.stdout, victim.stderr):
            stream and stream.close()
        partial = _stored(pg_dsn, "nightly")
        assert 0 < partial < sc.ENTRIES

        with Store.open(pg_dsn, create=False) as store:
            run_id = store.run_id_named("nightly")
            assert run_id is not None
            assert describe_shards(store.run(run_id)) == "0 of 2 shards complete"

        second = sc.run(shard(2), tmp_path)
        again = sc.run(shard(1), tmp_path)  # the killed shard, run again: only what is missing
        for result in (second, again):
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr

    with Store.open(pg_dsn, create=False) as store:
        assert describe_shards(store.run(run_id)) == "2 of 2 shards complete"
    expected = sc.merged_view(tmp_path / "one.db", 1)
    assert sc.merged_view(pg_dsn, run_id) == expected
    assert expected["stored"] == (sc.ENTRIES, sc.ENTRIES)
