"""Two live instances behind one load balancer write their windows into one PostgreSQL run sequence.

Issue 15: the live modes' windows from two instances land in one store, and ``gate --since`` judges
them together. Both instances are real ``paritycheck mirror`` processes, stopped with SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx

from paritycheck.store import Store
from tests.live.livehelpers import backend, listener_process
from tests.live.test_live_mirror import echo

REQUESTS = 25  # per instance; windows of 10 exchanges: 10, 10 and the 5 closed by SIGTERM


async def _mirror(legacy: str, candidate: str, dsn: str, cwd: Path) -> tuple[asyncio.subprocess.Process, str]:
    proc, port = await listener_process(
        "mirror", legacy, candidate, "--window", "10", db=dsn, cwd=cwd, startup=60
    )
    return proc, f"http://127.0.0.1:{port}"


async def _drive(url: str, first: int) -> None:
    async with httpx.AsyncClient() as client:
        for i in range(first, first + REQUESTS):
            assert (await client.get(f"{url}/items/{i}")).status_code == 200


async def test_two_mirror_instances_share_one_postgres_run_sequence(tmp_path: Path, pg_dsn: str) -> None:
    async with backend(echo("legacy", [])) as legacy, backend(echo("candidate", [])) as candidate:
        (a, url_a), (b, url_b) = await asyncio.gather(
            _mirror(legacy, candidate, pg_dsn, tmp_path), _mirror(legacy, candidate, pg_dsn, tmp_path)
        )
        await asyncio.gather(_drive(url_a, 0), _drive(url_b, 1000))
        for proc in (a, b):  # each drains its queue, closes its window and exits 0
            proc.send_signal(signal.SIGTERM)
        for proc in (a, b):
            assert proc.stderr is not None
            rest = (await asyncio.wait_for(proc.stderr.read(), 60)).decode()
            assert await proc.wait() == 0, rest
            assert f"{REQUESTS} seen = {REQUESTS} shadowed" in rest, rest

    with Store.open(pg_dsn, create=False) as store:
        runs = store.runs()
    # every window of both instances is its own complete run, with ids the database drew
    assert len(runs) == 6 and len({r.id for r in runs}) == 6
    assert all(r.status == "complete" for r in runs)
    assert sorted(r.total for r in runs) == [5, 5, 10, 10, 10, 10]
    # ids ending in 7 differ (the echo backends' seeded difference): 7, 17, 1007 and 1017
    assert sum(r.mismatched or 0 for r in runs) == 4

    gate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paritycheck", "gate", "--db", pg_dsn, "--since", "1h", "--json",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await gate.communicate()
    verdict = json.loads(out)
    assert sorted(verdict["runs"]) == sorted(r.id for r in runs), err.decode()
    assert verdict["verdict"] == "fail" and gate.returncode == 1  # 4 of 50 mismatched: not at parity
