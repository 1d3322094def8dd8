"""Replay benchmark: the HTTP client's raw ceiling against paritycheck end to end, and dry-run memory.

Starts local bench backends (bench/servers.py, one process each), writes a HAR capture of ``--pairs``
GET requests to a temp dir and prints, from one run:

1. the raw ceiling: the default transport (the lean HTTP/1.1 client) fetching the same pairs at the
   same concurrency, no pipeline; the same with aiohttp's client (the ceiling before issue 13e); the
   engine alone (``schedule`` + ``Engine.pair``, nothing done with the replies);
2. paritycheck end to end (replay, normalise, diff, store) and its ratio to (1); the same with
   ``[replay] client = "aiohttp"``, the client before issue 13e;
3. end to end with every pair differing in one field;

(1)-(3) are measured in interleaved rounds (``--repeat``), so that load from elsewhere on a shared
machine hits them alike; (2) and (3) also print the median of each round's ratio to its own ceiling.
4. peak RSS of ``python -m paritycheck replay --dry-run`` over a generated ``--har-mb`` MB HAR.

With ``--workers`` it measures instead (5) ``paritycheck replay`` as whole commands (start-up included)
with ``--workers 1``, ``--workers 2`` and no flag (the default's choice, which it prints), in
interleaved rounds, over the same GETs in many sessions (an Authorization value per session) and in
one session: when do two worker processes beat one?

Usage: ``.venv/bin/python bench/replay.py [--pairs 20000] [--concurrency 32] [--repeat 3] [--har-mb 500]
[--clients] [--workers [--sessions 1000]]`` (``--clients`` adds aiohttp on the default loop and httpx,
on fewer pairs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from servers import backend  # noqa: E402

from paritycheck.common import aio  # noqa: E402
from paritycheck.config import Backend  # noqa: E402
from paritycheck.models import Request  # noqa: E402
from paritycheck.replay import (  # noqa: E402
    Engine,
    make_transport,
    schedule,
)

HOST = "https://api.example.com"
RESOURCES = ("users", "orders", "products", "invoices", "carts", "reviews", "shipments", "accounts")


def paths(n: int) -> list[str]:
    """``n`` varied GET targets: several resources, ids, sub-resources and query strings."""
    out = []
    for i in range(n):
        res = RESOURCES[i % len(RESOURCES)]
        kind = i % 4
        if kind == 0:
            out.append(f"/api/{res}/{i}")
        elif kind == 1:
            out.append(f"/api/{res}/{i}/items?page={i % 7}&size=20")
        elif kind == 2:
            out.append(f"/api/{res}?q=term{i % 97}&sort=-created")
        else:
            out.append(f"/api/v1/{res}/{i % 500}/history")
    return out


def _entry(target: str, *, padding: str = "") -> str:
    entry = {
        "startedDateTime": "2024-05-01T12:00:00.000Z",
        "time": 12.5,
        "request": {
            "method": "GET",
            "url": HOST + target,
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Host", "value": "api.example.com"},
                {"name": "Accept", "value": "application/json"},
                {"name": "User-Agent", "value": "bench/1.0"},
            ],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "cookies": [],
            "content": {"size": len(padding), "mimeType": "application/json", "text": padding},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(padding),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 12, "receive": 0.5},
    }
    return json.dumps(entry, separators=(",", ":"))


def write_har(path: Path, targets: Iterator[str] | Sequence[str], *, padding: str = "") -> int:
    """Write a HAR 1.2 file entry by entry (never the whole document in memory); return its size."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
        for i, target in enumerate(targets):
            if i:
                fh.write(",")
            fh.write(_entry(target, padding=padding))
        fh.write("]}}")
    return path.stat().st_size


def big_targets(size_mb: int, entry_bytes: int) -> Iterator[str]:
    for i in range(max(1, size_mb * 1024 * 1024 // entry_bytes)):
        yield f"/api/{RESOURCES[i % len(RESOURCES)]}/{i}"


# --- (1) the raw ceiling --------------------------------------------------------------------------


async def raw_pairs(
    kind: str, legacy: str, candidate: str, requests: list[Request], concurrency: int
) -> float:
    """Pairs/s of ``concurrency`` plain workers, each awaiting both sends with gather."""
    transport = make_transport(kind, concurrency=concurrency)
    failures = 0
    try:
        for req in requests[:concurrency]:  # warm up: open the keep-alive connections
            await asyncio.gather(
                transport.send(legacy, req, headers={}, timeout=10),
                transport.send(candidate, req, headers={}, timeout=10),
            )
        it = iter(requests)

        async def worker() -> None:
            nonlocal failures
            for req in it:
                a, b = await asyncio.gather(
                    transport.send(legacy, req, headers={}, timeout=10),
                    transport.send(candidate, req, headers={}, timeout=10),
                )
                failures += (a.status != 200) + (b.status != 200)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await transport.aclose()
    if failures:
        raise RuntimeError(f"{failures} failed requests in the raw ceiling run")
    return len(requests) / elapsed


async def engine_pairs(legacy: str, candidate: str, requests: list[Request], concurrency: int) -> float:
    """Pairs/s of ``schedule`` + ``Engine.pair`` with nothing done with the replies."""
    transport = make_transport(concurrency=concurrency)
    engine = Engine(
        legacy=Backend(url=legacy), candidate=Backend(url=candidate), transport=transport, timeout=10
    )
    try:
        async for _ in schedule(requests[:concurrency], engine.pair, concurrency=concurrency):
            pass
        started = time.perf_counter()
        n = 0
        async for a, b in schedule(requests, engine.pair, concurrency=concurrency):
            n += a.status == b.status == 200
        elapsed = time.perf_counter() - started
    finally:
        await transport.aclose()
    if n != len(requests):
        raise RuntimeError(f"{len(requests) - n} failed pairs in the engine run")
    return n / elapsed


# --- (2), (3) end to end --------------------------------------------------------------------------


def end_to_end(
    legacy: str, candidate: str, har: Path, workdir: Path, concurrency: int, client: str = "http1"
) -> tuple[float, str]:
    """Pairs/s of ``paritycheck.run.runner.replay_captures`` and a note with the matched count."""
    from paritycheck.config import Backends, Config, ReplayConfig
    from paritycheck.run import replay_captures

    config = Config(
        backends=Backends(legacy=Backend(url=legacy), candidate=Backend(url=candidate)),
        replay=ReplayConfig(concurrency=concurrency, timeout=10, client=client),
    )
    db = workdir / f"bench-{time.monotonic_ns()}.db"
    started = time.perf_counter()
    result = aio.run(replay_captures(config, [har], db=db))
    elapsed = time.perf_counter() - started
    summary = result.summary
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return summary.total / elapsed, f"{summary.matched}/{summary.total} matched"


# --- (4) dry-run memory ---------------------------------------------------------------------------


def dry_run_rss(har_mb: int, legacy: str, candidate: str, workdir: Path) -> str:
    """Peak RSS of a dry run over a generated HAR of about ``har_mb`` MB (deleted afterwards)."""
    big = workdir / "big.har"
    padding = json.dumps({"data": ["x" * 120] * 120})  # ~15 KB recorded body per entry
    entry_bytes = len(_entry("/api/users/1", padding=padding))
    size = write_har(big, big_targets(har_mb, entry_bytes), padding=padding)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        cmd = [sys.executable, "-m", "paritycheck", "replay", str(big), "--dry-run"]
        cmd += ["--legacy", legacy, "--candidate", candidate]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        started = time.perf_counter()
        # Run in the temp dir so that no paritycheck.toml of the working tree is picked up.
        proc = subprocess.run(
            cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        elapsed = time.perf_counter() - started
    finally:
        big.unlink(missing_ok=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"skipped: dry run exited {proc.returncode}: {last[:150]}"
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    note = "" if before == 0 else f" (an earlier child peaked at {before / 1024:.0f} MB)"
    return f"{peak_kb / 1024:.0f} MB peak RSS over a {size / 2**20:.0f} MB HAR in {elapsed:.1f} s{note}"


# --- (5) worker processes ------------------------------------------------------------------------


def sessions_har(path: Path, targets: Sequence[str], sessions: int) -> int:
    """bench's capture with an Authorization value per session (``i % sessions``); return its size."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
        for i, target in enumerate(targets):
            entry = json.loads(_entry(target))
            entry["request"]["headers"].append(
                {"name": "Authorization", "value": f"Bearer user-{i % sessions}"}
            )
            fh.write(("," if i else "") + json.dumps(entry, separators=(",", ":")))
        fh.write("]}}")
    return path.stat().st_size


def whole_command(
    legacy: str, candidate: str, har: Path, workdir: Path, concurrency: int, workers: int | None
) -> tuple[float, float, str]:
    """Pairs/s of ``paritycheck replay`` as a user runs it, its CPU (µs per pair, user + system, every
    process of the command: workers and helper children are waited for, so their time is counted), and
    the split it chose (its stderr line)."""
    db = workdir / f"cmd-{time.monotonic_ns()}.db"
    cmd = [sys.executable, "-m", "paritycheck", "replay", str(har), "--legacy", legacy,
           "--candidate", candidate, "--db", str(db), "--no-report", "--json",
           "--concurrency", str(concurrency)]  # fmt: skip
    cmd += [] if workers is None else ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr.strip().splitlines()[-1:])
    total = json.loads(proc.stdout)["total"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    split = next((line for line in proc.stderr.splitlines() if "process" in line), "one process")
    return (
        total / elapsed,
        cpu / total * 1e6,
        re.sub(r"\d+ of (\d+) cores free \(load [\d.]+\)", r"N of \1 cores free", split),
    )


def workers_rounds(args: argparse.Namespace, legacy: str, candidate: str, workdir: Path) -> None:
    """(5): ``--workers 1``, ``--workers 2`` and the default, interleaved, per capture."""
    targets = paths(args.pairs)
    print(f"\nparitycheck replay as whole commands: {args.pairs:,} pairs, concurrency {args.concurrency},"
          f" median of {args.repeat} interleaved rounds, {os.cpu_count()} cores")  # fmt: skip
    for label, sessions in ((f"{args.sessions:,} sessions", args.sessions), ("one session", 1)):
        har = workdir / f"sessions-{sessions}.har"
        size = sessions_har(har, targets, sessions)
        runs: dict[str, list[float]] = {"--workers 1": [], "--workers 2": [], "default": []}
        cpus: dict[str, list[float]] = {name: [] for name in runs}
        notes: list[str] = []
        loads: list[float] = []
        for _ in range(args.repeat):
            for name, n in (("--workers 1", 1), ("--workers 2", 2), ("default", None)):
                rate, cpu, note = whole_command(legacy, candidate, har, workdir, args.concurrency, n)
                runs[name].append(rate)
                cpus[name].append(cpu)
                if n is None:
                    notes.append(note)
            loads.append(os.getloadavg()[0])
        print(f"{label} ({size / 2**20:.1f} MB), load average {min(loads):.1f}-{max(loads):.1f}:")
        one = runs["--workers 1"]
        for name, rates in runs.items():
            ratio = statistics.median(r / base for r, base in zip(rates, one, strict=True))
            shown = " ".join(f"{r:,.0f}" for r in rates)
            median, cpu = statistics.median(rates), statistics.median(cpus[name])
            figures = f"{median:>7,.0f} pairs/s  x{ratio:.2f} of --workers 1  {cpu:4.0f} us CPU/pair"
            print(f"  {name:<12} {figures}  [{shown}]")
        print(f"  the default chose: {'; '.join(sorted(set(notes)))}")


# --- running and printing -------------------------------------------------------------------------


def repeated(k: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    runs = [measure() for _ in range(k)]
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument(
        "--har-mb", type=int, default=500, help="size of the HAR for the dry-run memory figure"
    )
    parser.add_argument("--clients", action="store_true", help="also aiohttp on the default loop, and httpx")
    parser.add_argument("--only-raw", action="store_true", help="only the raw ceiling and the engine rows")
    parser.add_argument("--workers", action="store_true", help="only (5): whole commands, 1 and 2 workers")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions in (5)'s many-session capture")
    args = parser.parse_args()
    if args.workers:
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paritycheck-bench-")))
            legacy = stack.enter_context(backend())
            same = stack.enter_context(backend())
            workers_rounds(args, legacy, same, workdir)
        return
    c, k = args.concurrency, args.repeat
    rows: list[tuple[str, str, str]] = []

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def fig(median: float, runs: list[float], base: float | None = None) -> tuple[str, str]:
        ratio = f"  ({median / base:.0%} of raw)" if base else ""
        return f"{median:,.0f} pairs/s{ratio}", " ".join(f"{r:,.0f}" for r in runs)

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paritycheck-bench-")))
        legacy = stack.enter_context(backend())
        same = stack.enter_context(backend())
        differ = stack.enter_context(backend(differ=True))
        targets = paths(args.pairs)
        requests = [
            Request("GET", HOST + t, *t.partition("?")[::2], (("accept", "application/json"),))
            for t in targets
        ]
        har = workdir / "capture.har"
        write_har(har, targets)

        if not args.only_raw:
            # First, so that RUSAGE_CHILDREN holds this child only (the backends are reaped at the end).
            log(f"(4) dry run over a {args.har_mb} MB HAR ...")
            rss = dry_run_rss(args.har_mb, legacy, same, workdir)

        few = requests[: min(len(requests), 1000)]
        measures: dict[str, Callable[[], float]] = {
            "(1) raw ceiling: http1 + uvloop, gather per pair": lambda: aio.run(
                raw_pairs("http1", legacy, same, requests, c)
            ),
            "    aiohttp + uvloop, gather per pair": lambda: aio.run(
                raw_pairs("aiohttp", legacy, same, requests, c)
            ),
            "    engine only: schedule + Engine.pair": lambda: aio.run(
                engine_pairs(legacy, same, requests, c)
            ),
        }
        if args.clients:
            measures["    aiohttp, default asyncio loop"] = lambda: asyncio.run(
                raw_pairs("aiohttp", legacy, same, requests, c)
            )
            measures[f"    httpx + uvloop ({len(few)} pairs)"] = lambda: aio.run(
                raw_pairs("httpx", legacy, same, few, c)
            )
        notes: dict[str, list[str]] = {}
        if not args.only_raw:
            for label, candidate, client in (
                ("(2) end to end, all match", same, "http1"),
                ("    the same with [replay] client = aiohttp", same, "aiohttp"),
                ("(3) end to end, all differ", differ, "http1"),
            ):
                notes[label] = []

                def once(
                    candidate: str = candidate, out: list[str] = notes[label], client: str = client
                ) -> float:
                    rate, note = end_to_end(legacy, candidate, har, workdir, c, client)
                    out.append(note)
                    return rate

                measures[label] = once
        # Rounds interleave the measures (end to end included), so that load from elsewhere on the
        # machine hits them alike; each end-to-end figure is also divided by its own round's ceiling.
        log(f"{k} rounds of {', '.join(m.strip() for m in measures)} ...")
        results: dict[str, list[float]] = {label: [] for label in measures}
        failed: dict[str, str] = {}
        for _ in range(k):
            for label, measure in measures.items():
                if label in failed:
                    continue
                try:
                    results[label].append(measure())
                except ImportError as exc:
                    failed[label] = f"skipped: {exc}"
                except Exception as exc:  # report, go on with the other measures
                    failed[label] = f"skipped: {type(exc).__name__}: {str(exc)[:120]}"
        raws = next(iter(results.values()))
        raw = statistics.median(raws)
        for i, (label, runs) in enumerate(results.items()):
            if label in failed:
                rows.append((label, failed[label], ""))
                continue
            figure, all_runs = fig(statistics.median(runs), runs, raw if i else None)
            if label in notes:
                per_round = statistics.median(r / base for r, base in zip(runs, raws, strict=True))
                all_runs += f"  [{notes[label][-1]}; per-round ratio median {per_round:.0%}]"
            rows.append((label, figure, all_runs))

        if not args.only_raw:
            rows.append(("(4) dry-run peak RSS", rss, ""))

    print(f"\nparitycheck replay bench: {args.pairs:,} pairs, concurrency {c}, median of {k}, 2 x ~1 KB JSON")
    width = max(len(r[0]) for r in rows)
    for label, figure, runs_text in rows:
        print(f"{label:<{width}}  {figure:<28}  {runs_text}")


if __name__ == "__main__":
    main()
