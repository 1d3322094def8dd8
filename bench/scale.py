"""Scale benchmark: the PostgreSQL store against SQLite end to end, and ``--workers 2`` against 1.

Starts the bench backends (bench/servers.py, one process each), a temporary PostgreSQL server (Debian's,
as the tests do, with fsync on) and writes a HAR of ``--pairs`` GETs; then prints, from one run:

1. ``replay_captures`` end to end into SQLite and into PostgreSQL, interleaved, medians of ``--repeat``
   runs and the PostgreSQL/SQLite ratio (target >= 80%);
2. ``paritycheck replay --workers 1`` and ``--workers 2`` as whole commands (start-up included), into
   SQLite, interleaved, medians and their ratio.

Usage: ``.venv/bin/python bench/scale.py [--pairs 20000] [--concurrency 32] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import PostgresServer, _bindir, unavailable_reason  # noqa: E402

# bench/replay.py's capture: the same varied GET targets.
from replay import paths, write_har  # type: ignore[attr-defined]  # noqa: E402
from servers import backend  # noqa: E402

from paritycheck.common import aio  # noqa: E402
from paritycheck.config import Backend, Backends, Config, ReplayConfig  # noqa: E402
from paritycheck.run import replay_captures  # noqa: E402


def end_to_end(legacy: str, candidate: str, har: Path, db: Path | str, concurrency: int) -> float:
    config = Config(
        backends=Backends(legacy=Backend(url=legacy), candidate=Backend(url=candidate)),
        replay=ReplayConfig(concurrency=concurrency, timeout=10),
    )
    started = time.perf_counter()
    result = aio.run(replay_captures(config, [har], db=db))
    return result.summary.total / (time.perf_counter() - started)


def workers(legacy: str, candidate: str, har: Path, db: Path, n: int, concurrency: int) -> float:
    command = [
        sys.executable, "-m", "paritycheck", "replay", str(har), "--legacy", legacy, "--candidate", candidate,
        "--db", str(db), "--no-report", "--json", "--workers", str(n), "--concurrency", str(concurrency),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(result.stderr)
    return PAIRS / elapsed


PAIRS = 0


def main() -> None:
    global PAIRS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    PAIRS = args.pairs
    reason = unavailable_reason()
    if reason:
        sys.exit(f"bench/scale.py needs PostgreSQL: {reason}")
    bindir = _bindir()
    assert bindir is not None
    with ExitStack() as stack:
        legacy = stack.enter_context(backend())
        candidate = stack.enter_context(backend())
        workdir = Path(tempfile.mkdtemp(prefix="paritycheck-scale-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        pgdir = Path(tempfile.mkdtemp(prefix="paritycheck-scale-pg-"))
        os.chmod(pgdir, 0o755)
        stack.callback(shutil.rmtree, pgdir, ignore_errors=True)
        server = PostgresServer(bindir, pgdir, durable=True)
        server.start()
        stack.callback(server.stop)
        har = workdir / "capture.har"
        write_har(har, paths(args.pairs))
        print(
            f"{args.pairs} pairs, concurrency {args.concurrency}, {os.cpu_count()} cores,"
            f" medians of {args.repeat}"
        )
        lite: list[float] = []
        pg: list[float] = []
        for i in range(args.repeat):
            lite.append(end_to_end(legacy, candidate, har, workdir / f"e2e-{i}.db", args.concurrency))
            pg.append(end_to_end(legacy, candidate, har, server.database(), args.concurrency))
            print(
                f"  run {i + 1}: sqlite {lite[-1]:,.0f} pairs/s, postgresql {pg[-1]:,.0f} pairs/s", flush=True
            )
        a, b = statistics.median(lite), statistics.median(pg)
        print(f"(1) end to end: sqlite {a:,.0f} pairs/s, postgresql {b:,.0f} pairs/s: {b / a:.0%} of sqlite")
        one: list[float] = []
        two: list[float] = []
        for i in range(args.repeat):
            one.append(workers(legacy, candidate, har, workdir / f"w1-{i}.db", 1, args.concurrency))
            two.append(workers(legacy, candidate, har, workdir / f"w2-{i}.db", 2, args.concurrency))
            print(
                f"  run {i + 1}: --workers 1 {one[-1]:,.0f} pairs/s, --workers 2 {two[-1]:,.0f} pairs/s",
                flush=True,
            )
        c, d = statistics.median(one), statistics.median(two)
        print(f"(2) whole command: --workers 1 {c:,.0f} pairs/s, --workers 2 {d:,.0f} pairs/s: {d / c:.2f}x")


if __name__ == "__main__":
    main()
