"""What live sessions cost the shadow path: mirror sink throughput with sessions off and on, same run.

Starts the two bench backends (bench/servers.py) and ``paritycheck mirror`` as a process, as
bench/live.py does, once per setting in each of ``--repeat`` runs, alternating which goes first:

- ``off``: ``[sessions] key = "none"`` (each copy sent as it came, the behaviour before sessions);
- ``on``: the default ``key = "auto"``, each copy carrying one of ``--users`` ``Authorization`` values,
  so every copy is filed in a session (and with ``--users`` above the table's 10,000, sessions are
  forgotten and started all the time).

Each run sends ``--requests`` GETs (64 in flight) into a queue that holds them all, and measures the
time until /status accounts for every one: shadowed requests per second, its median per setting, and
the on/off ratio.

First, in process: what filing costs per request, on the client path (``offered``: a read is stamped,
a write noted) and on the shadow path (``turn``: the session found or started, with churn).

Usage: ``.venv/bin/python bench/live_sessions.py [--requests 10000] [--repeat 3] [--users 20000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from live import listener  # noqa: E402
from servers import backend  # noqa: E402


async def accounted(sink: str, admin: str, n: int, users: int) -> float:
    """Requests per second until every mirrored copy is accounted for in /status."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
        sem = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            headers = {"Authorization": f"Bearer user-token-{i % users:06d}"}
            async with sem, client.get(f"{sink}/items/{i % 1000}", headers=headers) as r:
                await r.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        while True:
            async with client.get(f"{admin}/status") as r:
                totals = json.loads(await r.read())["totals"]
            if totals["seen"] >= n:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
    assert totals["seen"] == totals["shadowed"] + totals["skipped"] + totals["dropped"]
    assert totals["dropped"] == 0, totals
    return n / elapsed


def in_process(users: int) -> None:
    """Microseconds per call of ``offered`` (client path) and ``turn`` (shadow path), median of 5."""
    import timeit

    from paritycheck.config import parse
    from paritycheck.live.sessions import LiveSessions
    from paritycheck.models import Exchange, Request
    from paritycheck.replay import Engine, make_transport

    backends = {"legacy": "http://127.0.0.1:1", "candidate": "http://127.0.0.1:2"}
    config = parse({"backends": backends}, source="bench")
    engine = Engine(
        legacy=config.backends.legacy,
        candidate=config.backends.candidate,
        transport=make_transport("httpx", concurrency=1),
        timeout=1.0,
    )
    sessions = LiveSessions(config, engine, mode="proxy")
    cookie = ("cookie", "_ga=GA1.1.1093488317; theme=dark; sessionid=8f3a2c")

    def exchange(method: str, i: int) -> Exchange:
        headers = (("authorization", f"Bearer user-token-{i % users:06d}"), cookie, ("accept", "*/*"))
        return Exchange(index=i, source="p", request=Request(method, "/a/1", "/a/1", "", headers, None))

    reads = [exchange("GET", i) for i in range(20000)]
    writes = [exchange("POST", i) for i in range(20000)]

    async def turns() -> None:
        for e in reads:
            sessions.turn(e, "GET /a/{id}", None).cancel()

    def per_call(run: Any, n: int) -> float:
        return statistics.median(timeit.repeat(run, number=1, repeat=5)) / n * 1e6

    read = per_call(lambda: [sessions.offered(e) for e in reads], len(reads))
    write = per_call(lambda: [sessions.offered(e) for e in writes], len(writes))
    turn = per_call(lambda: asyncio.run(turns()), len(reads))
    print(
        f"in process, {users} users: offered {read:.2f} us per read, {write:.2f} us per write"
        f" (client path); turn {turn:.1f} us per shadow (shadow path)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--users", type=int, default=20000)
    args = parser.parse_args()
    in_process(args.users)
    figures: dict[str, list[float]] = {"off": [], "on": []}
    with backend() as legacy, backend(differ=True) as candidate, tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            settings = [("off", "none"), ("on", "auto")]
            for setting, key in settings if run % 2 == 0 else settings[::-1]:  # neither always goes first
                config = Path(tmp) / f"{setting}.toml"
                config.write_text(f'[sessions]\nkey = "{key}"\n')
                db = Path(tmp) / f"{setting}-{run}.db"
                extra = ("--config", str(config), "--queue", str(args.requests))  # none dropped: all shadowed
                with listener("mirror", legacy, candidate, db, *extra) as (sink, admin, _):
                    rate = asyncio.run(accounted(sink, admin, args.requests, args.users))
                figures[setting].append(rate)
                print(f"  run {run + 1}, sessions {setting}: {rate:,.0f} mirrored req/s shadowed")
    off, on = statistics.median(figures["off"]), statistics.median(figures["on"])
    paired = statistics.median(b / a for a, b in zip(figures["off"], figures["on"], strict=True))
    print(
        f"mirror sink, {args.requests} GETs, {args.users} users, median of {args.repeat}:"
        f" sessions off {off:,.0f} req/s, on {on:,.0f} req/s, on/off {on / off:.2f}"
        f" (median of the runs' own on/off ratios: {paired:.2f})"
    )


if __name__ == "__main__":
    main()
