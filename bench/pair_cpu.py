"""CPU per pair of every process, for bench/replay.py's raw ceiling and end to end, and the rate each
would reach on an idle machine of this many cores.

For each of the raw ceiling (the lean client, no pipeline), end to end all matching and end to end all
differing (bench/replay.py's (1), (2) and (3): 20,000 GETs of ~1 KB JSON, 32 in flight), in interleaved
rounds, it measures the CPU time per pair of the process that runs it (the client, or the replay's
parent), of its helper children (capture reader, store writer: reaped, so their rusage is counted) and
of the bench backends (from /proc). The model then bounds each rate by one core for the main process
and all the cores for everything: ``min(1 / main, cores / total)``. Wall-clock rates on a shared machine
move with other work; these CPU figures move far less, so the model's ratios are the load-independent
reading of bench/replay.py's (docs/benchmarks.md, "Per-pair cost").

Usage: ``.venv/bin/python bench/pair_cpu.py [--rounds 3] [--package-root DIR]`` (another copy of the
repository, the code before a change, with its own bench/ folder).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--package-root", type=Path, default=ROOT)
    args = parser.parse_args()
    root = args.package_root.resolve()
    sys.path[:0] = [str(root), str(root / "bench")]
    os.environ["PYTHONPATH"] = str(root)  # helper children import the same copy
    import replay as bench_replay
    from servers import backend

    from paritycheck.common import aio
    from paritycheck.models import Request

    targets = bench_replay.paths(args.pairs)
    requests = [
        Request(
            "GET",
            bench_replay.HOST + t,
            t.partition("?")[0],
            t.partition("?")[2],
            (("accept", "application/json"),),
        )
        for t in targets
    ]
    spent: dict[str, list[tuple[float, ...]]] = {"ceiling": [], "all match": [], "all differ": []}
    with tempfile.TemporaryDirectory() as tmp:
        har = Path(tmp) / "capture.har"
        bench_replay.write_har(har, targets)
        with backend() as legacy, backend() as same, backend(differ=True) as differ:
            found = subprocess.run(
                ["pgrep", "-P", str(os.getpid()), "-f", "servers.py"], capture_output=True, text=True
            ).stdout
            pids = [int(p) for p in found.split()]
            for _ in range(args.rounds):
                for name in spent:
                    candidate = differ if name == "all differ" else same
                    backends0 = sum(proc_cpu(p) for p in pids)
                    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    own0, wall0 = time.process_time(), time.perf_counter()
                    if name == "ceiling":
                        aio.run(bench_replay.raw_pairs("http1", legacy, candidate, requests, 32))
                    else:
                        bench_replay.end_to_end(legacy, candidate, har, Path(tmp), 32)
                    wall, own = time.perf_counter() - wall0, time.process_time() - own0
                    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    children = sum(
                        getattr(children1, f) - getattr(children0, f) for f in ("ru_utime", "ru_stime")
                    )
                    backends = sum(proc_cpu(p) for p in pids) - backends0
                    n = len(requests)
                    spent[name].append((own / n * 1e6, children / n * 1e6, backends / n * 1e6, n / wall))
    cores = len(os.sched_getaffinity(0))
    print(f"{args.pairs:,} pairs, medians of {args.rounds} interleaved rounds, {cores} cores, package {root}")
    model = {}
    for name, rows in spent.items():
        own, children, backends, rate = (statistics.median(r[i] for r in rows) for i in range(4))
        total = own + children + backends
        model[name] = min(1e6 / own, cores * 1e6 / total)
        print(
            f"  {name:<10} CPU per pair: main process {own:4.0f} us, helper children {children:4.0f},"
            f" backends {backends:3.0f}, all {total:4.0f};  measured {rate:6,.0f} pairs/s,"
            f" idle model {model[name]:6,.0f}"
        )
    for name in ("all match", "all differ"):
        print(f"  {name}: idle model {model[name] / model['ceiling']:.0%} of the ceiling")
    print(f"  load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
