"""Parent CPU per exchange: reading a capture in-process against reading it through the prefetch child.

Writes a HAR of ``--entries`` GET exchanges like bench/replay.py's and prints, for ``capture.read`` and
``read_in_child``, the parent's CPU per entry (``time.process_time``, which never counts the child's
CPU) and the wall time. For the child, the one-time start (spawn, import, first batch) is shown apart and
left out of the per-entry figure. The goal is <= 6 us per entry in the parent.

Usage: ``.venv/bin/python bench/prefetch.py [--entries 50000] [--repeat 3] [--batch 512]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from replay import paths, write_har  # noqa: E402

from paritycheck import capture  # noqa: E402
from paritycheck.capture import read_in_child  # noqa: E402
from paritycheck.models import Exchange  # noqa: E402


def measure(make: Callable[[], Iterator[Exchange]]) -> tuple[float, float, float, int]:
    """Return (start CPU s, CPU us per entry after the first, wall s, entries)."""
    wall = time.perf_counter()
    t0 = time.process_time()
    it = make()
    next(it)
    t1 = time.process_time()
    count = 1
    for _ in it:
        count += 1
    t2 = time.process_time()
    return t1 - t0, (t2 - t1) / (count - 1) * 1e6, time.perf_counter() - wall, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        har = Path(tmp) / "bench.har"
        size = write_har(har, paths(args.entries))
        print(f"HAR: {args.entries} entries, {size / 1e6:.1f} MB")
        runs: dict[str, list[tuple[float, float, float, int]]] = {"in-process": [], "child": []}
        for _ in range(args.repeat):
            runs["in-process"].append(measure(lambda: capture.read(har)))
            runs["child"].append(measure(lambda: read_in_child(har, batch=args.batch)))
        for name, results in runs.items():
            start = statistics.median(r[0] for r in results) * 1e3
            per = statistics.median(r[1] for r in results)
            wall = statistics.median(r[2] for r in results)
            print(
                f"{name:>10}: parent CPU {per:6.2f} us/entry (median of {args.repeat}; "
                f"start {start:.1f} ms CPU), wall {wall:.2f} s for {results[0][3]} entries"
            )


if __name__ == "__main__":
    main()
