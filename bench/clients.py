"""HTTP client cost: CPU per request of each transport against one keep-alive bench backend.

The transports are paritycheck's own (``make_transport``: ``http1``, ``aiohttp``, ``httpx``), called as
replay calls them (captured headers, a per-request timeout, a :class:`Reply` back). The backend runs in
its own process (bench/servers.py), so this process's CPU time is the client's. The kinds take turns,
round after round, and the median of each is printed with its ratio to the first kind, measured in the
same rounds.

Usage: ``.venv/bin/python bench/clients.py [--requests 10000] [--rounds 5] [--concurrency 32]
[--kinds http1,aiohttp,httpx]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from servers import backend  # noqa: E402

from paritycheck.common import aio  # noqa: E402
from paritycheck.models import Request  # noqa: E402
from paritycheck.replay import make_transport  # noqa: E402

HEADERS = (("accept", "application/json"), ("user-agent", "bench"), ("authorization", "Bearer abc"))


async def one_round(kind: str, base: str, n: int, concurrency: int) -> tuple[float, float]:
    """(µs of CPU per request, requests/s) for ``n`` GETs with ``concurrency`` in flight."""
    transport = make_transport(kind, concurrency=concurrency)
    requests = [
        Request("GET", f"http://captured{p}", p, "", HEADERS) for p in (f"/items/{i}" for i in range(1000))
    ]
    failed = 0

    async def worker(start: int) -> None:
        nonlocal failed
        for i in range(start, n, concurrency):
            reply = await transport.send(base, requests[i % 1000], headers={}, timeout=30)
            failed += reply.status != 200

    await worker(0)  # warm: one connection, imports, caches
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await transport.aclose()
    if failed:
        raise SystemExit(f"{kind}: {failed} requests failed")
    return cpu / n * 1e6, n / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kinds", default="http1,aiohttp,httpx")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    rate: dict[str, list[float]] = {k: [] for k in kinds}
    ratios: dict[str, list[float]] = {k: [] for k in kinds}
    with backend() as base:
        for r in range(args.rounds):
            for kind in kinds:
                runner = asyncio.Runner(loop_factory=aio.loop_factory())
                with runner:
                    c, q = runner.run(one_round(kind, base, args.requests, args.concurrency))
                cpu[kind].append(c)
                rate[kind].append(q)
                print(f"round {r + 1} {kind:8s} {c:7.1f} µs CPU/request {q:8,.0f} requests/s", flush=True)
            for kind in kinds:
                ratios[kind].append(cpu[kind][-1] / cpu[kinds[0]][-1])
    print(f"medians of {args.rounds} rounds, {args.requests:,} GETs each, {args.concurrency} in flight:")
    for kind in kinds:
        print(
            f"  {kind:8s} {statistics.median(cpu[kind]):7.1f} µs CPU/request"
            f"  {statistics.median(rate[kind]):8,.0f} requests/s"
            f"  CPU ×{statistics.median(ratios[kind]):.2f} of {kinds[0]} (same rounds)"
        )


if __name__ == "__main__":
    main()
