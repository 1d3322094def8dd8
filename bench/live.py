"""Live-mode benchmark: added client-path latency of the proxy, mirror sink throughput, a memory soak.

Starts two bench backends (bench/servers.py, one process each) and paritycheck itself as a separate
process (``python -m paritycheck proxy|mirror``), as in production; the load generator is this process.

1. Latency: GETs at ``--rate`` requests/s, open loop, alternately straight to the legacy and through
   the proxy with shadowing on, in phases of ``--seconds``; prints p50/p99 of each and the difference.
   Each of ``--variants`` is a proxy of its own, measured in the same run: ``helper`` (the shadow path
   in a helper process, the default) and ``in-process`` (``--shadow-in-process``: one event loop).
2. Mirror sink: ``--mirror`` requests as fast as the sink takes them (64 in flight); the throughput is
   requests over the time until /status accounts for every one (shadowed, skipped or dropped). Then
   whether it keeps up with a steady ``--mirror-rate`` (paced, open loop, for ``--mirror-seconds``)
   with the default ``--queue``: how many were dropped and how long after the last request every one
   was accounted for.
3. Soak: the proxy at ``--rate`` for ``--soak`` seconds with 2,000-exchange windows; prints its RSS.
   ``--mirror-soak`` does the same with the mirror sink and deploy/mirror.yaml's 15-minute windows
   (the figure behind that manifest's memory request).

Usage: ``.venv/bin/python bench/live.py [--rate 500] [--seconds 5] [--repeat 3] [--mirror 20000]
[--soak 60] [--mirror-soak 0] [--variants helper,in-process]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from servers import backend  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def listener(mode: str, legacy: str, candidate: str, db: Path, *extra: str) -> Iterator[tuple[str, str, int]]:
    """Run ``paritycheck MODE`` as a process; yield its URL, its admin URL and its pid."""
    port, admin = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paritycheck", mode, "--listen", f"127.0.0.1:{port}", "--admin",
         f"127.0.0.1:{admin}", "--legacy", legacy, "--candidate", candidate, "--db", str(db), "--no-report",
         *extra],
        stderr=subprocess.PIPE, text=True, cwd=db.parent,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if "listening" not in line:
            raise RuntimeError(f"{mode} did not start: {line}")
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}", proc.pid
    finally:
        proc.terminate()
        proc.wait(60)
        if proc.stderr is not None:
            print("   ", proc.stderr.read().strip())
            proc.stderr.close()


async def paced(client: aiohttp.ClientSession, base: str, rate: float, seconds: float) -> list[float]:
    """GETs at ``rate``/s for ``seconds`` (open loop: a slow answer does not delay the next start)."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        async with client.get(f"{base}/items/{i % 1000}") as r:
            await r.read()
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    start = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i)))
    await asyncio.gather(*tasks)
    return latencies


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def latency(legacy: str, proxies: dict[str, str], args: argparse.Namespace) -> None:
    """Alternate phases straight to the legacy and through each proxy; the added p50/p99 per proxy."""
    added: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in proxies}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
        for url in (legacy, *proxies.values()):  # warm up every path
            await paced(client, url, args.rate, 1)
        for run in range(args.repeat):
            direct = await paced(client, legacy, args.rate, args.seconds)
            d50, d99 = pct(direct, 0.5), pct(direct, 0.99)
            line = [f"  run {run + 1}: direct p50 {d50:.2f} ms p99 {d99:.2f} ms"]
            for name, url in proxies.items():
                through = await paced(client, url, args.rate, args.seconds)
                t50, t99 = pct(through, 0.5), pct(through, 0.99)
                added[name][0].append(t50 - d50)
                added[name][1].append(t99 - d99)
                line.append(f"{name} p50 {t50:.2f} p99 {t99:.2f} (added {t50 - d50:+.2f} / {t99 - d99:+.2f})")
            print("; ".join(line))
    for name, (p50s, p99s) in added.items():
        print(
            f"added latency at {args.rate:.0f} req/s, {name}, median of {args.repeat}:"
            f" p50 {statistics.median(p50s):.2f} ms (target < 1),"
            f" p99 {statistics.median(p99s):.2f} ms (target < 5)"
        )


async def status(client: aiohttp.ClientSession, admin: str) -> dict[str, int]:
    async with client.get(f"{admin}/status") as r:
        return dict(json.loads(await r.read())["totals"])


async def mirror(sink: str, admin: str, n: int, name: str) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
        sem = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            async with sem, client.get(f"{sink}/items/{i % 1000}") as r:
                await r.read()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        answered = time.perf_counter() - start
        totals = await status(client, admin)
        while totals["seen"] < n:
            await asyncio.sleep(0.05)
            totals = await status(client, admin)
        accounted = time.perf_counter() - start
    ok = totals["seen"] == totals["shadowed"] + totals["skipped"] + totals["dropped"]
    print(
        f"mirror sink ({name}): {n} answered in {answered:.2f} s ({n / answered:,.0f} req/s); all accounted"
        f" after {accounted:.2f} s: {n / accounted:,.0f} req/s (target >= 2,000); {totals['shadowed']}"
        f" shadowed, {totals['dropped']} dropped, totals reconcile: {ok}"
    )


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the listener, its shadow helper, their store writers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += tree(int(child))
    return found


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The resident memory of ``pid`` and its descendants, MB: ``VmRSS`` counts the pages they share
    once per process; ``Pss`` shares them out, so its sum is closer to what a container's cgroup counts."""
    total = 0
    for p in tree(pid):
        source = "smaps_rollup" if field == "Pss" else "status"
        for line in Path(f"/proc/{p}/{source}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process so far (s)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick
    return out


async def soak(url: str, pid: int, seconds: float, rate: float, name: str = "proxy") -> None:
    samples = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
        step = max(seconds / 6, 1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await paced(client, url, rate, step)
            samples.append((rss_mb(pid), rss_mb(pid, "Pss")))
    print(
        f"soak {seconds:.0f} s at {rate:.0f} req/s: RSS (PSS) MB of the {name} and its helpers "
        + ", ".join(f"{r:.0f} ({p:.0f})" for r, p in samples)
    )


#: The shadow side in a helper process (the default) and on the listener's own loop (before issue 13c).
VARIANTS = {"helper": (), "in-process": ("--shadow-in-process",)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mirror", type=int, default=20000)
    parser.add_argument("--mirror-rate", type=float, default=2000)
    parser.add_argument("--mirror-seconds", type=float, default=10)
    parser.add_argument("--soak", type=float, default=60)
    parser.add_argument("--mirror-soak", type=float, default=0, help="seconds of the mirror at --rate")
    parser.add_argument("--sample", default="100", help="the proxy's --sample (0: no shadowing)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="which shadow layouts to compare, in the same run"
    )
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        legacy = stack.enter_context(backend())
        candidate = stack.enter_context(backend(differ=True))
        if args.repeat > 0:
            with ExitStack() as proxies:
                extra = ("--window", "2000", "--sample", args.sample)
                urls = {}
                for name in variants:
                    db = Path(tmp) / f"{name}.db"
                    urls[name] = proxies.enter_context(
                        listener("proxy", legacy, candidate, db, *extra, *VARIANTS[name])
                    )[0]
                asyncio.run(latency(legacy, urls, args))
        if args.soak > 0:
            with listener(
                "proxy", legacy, candidate, Path(tmp) / "soak.db", "--window", "2000", *VARIANTS[variants[0]]
            ) as (url, _, pid):
                asyncio.run(soak(url, pid, args.soak, args.rate))
        if args.mirror_soak > 0:  # as deploy/mirror.yaml runs it: 15-minute windows
            with listener("mirror", legacy, candidate, Path(tmp) / "msoak.db", "--window", "15m") as (
                url,
                _,
                pid,
            ):
                asyncio.run(soak(url, pid, args.mirror_soak, args.rate, "mirror"))
        for name in variants:
            if args.mirror > 0:
                burst = ("--queue", str(args.mirror), "--window", "5000", *VARIANTS[name])
                with listener("mirror", legacy, candidate, Path(tmp) / f"m-{name}.db", *burst) as started:
                    mirror_phase(*started, name, args.mirror)
            if args.mirror_rate > 0:
                paced_sink = ("--window", "5000", *VARIANTS[name])
                with listener(
                    "mirror", legacy, candidate, Path(tmp) / f"s-{name}.db", *paced_sink
                ) as started:
                    asyncio.run(steady(*started[:2], args.mirror_rate, args.mirror_seconds, name))


async def steady(sink: str, admin: str, rate: float, seconds: float, name: str) -> None:
    """Mirrored copies at a steady ``rate``; does the sink keep up with its default queue?"""
    n = int(rate * seconds)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as client:
        start = time.perf_counter()
        await paced(client, sink, rate, seconds)
        sent = time.perf_counter()
        totals = await status(client, admin)
        while totals["seen"] < n:
            await asyncio.sleep(0.05)
            totals = await status(client, admin)
        done = time.perf_counter()
    print(
        f"mirror sink ({name}) at a steady {rate:,.0f} req/s: {n} sent in {sent - start:.2f} s"
        f" ({n / (sent - start):,.0f} req/s offered); all accounted {done - sent:.2f} s after the last;"
        f" {totals['shadowed']} shadowed, {totals['dropped']} dropped (default --queue)"
    )


def mirror_phase(url: str, admin: str, pid: int, name: str, n: int) -> None:
    """The mirror sink's throughput, then the CPU time each process spent per mirrored request."""
    pids = [*tree(pid), os.getpid()]
    names = ["listener", "helper"][: len(pids) - 2]
    names += ["store writer", "load generator"]
    before = cpu_seconds(pids)
    asyncio.run(mirror(url, admin, n, name))
    after = cpu_seconds(pids)
    used = ", ".join(
        f"{what} {(after[p] - before[p]) / n * 1e6:.0f} µs" for what, p in zip(names, pids, strict=True)
    )
    print(f"    CPU per mirrored request: {used}")


if __name__ == "__main__":
    main()
