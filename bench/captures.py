"""Capture formats side by side: reading HAR, JSON lines and GoReplay (plain and gzip), and the writer.

Generates ``--entries`` realistic exchanges (tests/gorutil.py: GETs and POSTs with ~1 KB bodies,
chunked and gzip responses), writes them as .gor and .gor.gz as GoReplay would, then with
:class:`~paritycheck.capture.CaptureWriter` as HAR and JSON lines, and prints for each format the
entries read per second (median of ``--repeat`` runs) and the ratio to HAR in the same run; then the
writer's exchanges per second, flushing after every exchange (what live ``--record`` does) or every
100, redacted or not. The writer must keep well ahead of the live modes' shadow rate (~2,000/s).

Usage: ``.venv/bin/python bench/captures.py [--entries 20000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from paritycheck import capture  # noqa: E402
from paritycheck.capture import CaptureWriter  # noqa: E402
from paritycheck.compare import redact_exchange  # noqa: E402
from paritycheck.models import Exchange  # noqa: E402
from tests import gorutil  # noqa: E402


def _rate(action: Callable[[], int], repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        n = action()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def _write(path: Path, exchanges: list[Exchange], *, redact: bool, flush_every: int) -> int:
    with CaptureWriter(path, redact=redact_exchange if redact else None, flush_every=flush_every) as w:
        for x in exchanges:
            w.write(x)
    return len(exchanges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gor = gorutil.write(folder / "c.gor", gorutil.records(options.entries, body_size=1000))
        gorutil.write(folder / "c.gor.gz", gorutil.records(options.entries, body_size=1000), compress=True)
        exchanges = list(capture.read(gor))
        for name in ("c.har", "c.jsonl"):
            _write(folder / name, exchanges, redact=False, flush_every=100)
        print(f"{options.entries:,} exchanges, median of {options.repeat} runs (2 shared cores: use ratios)")
        rates = {}
        for name in ("c.har", "c.jsonl", "c.gor", "c.gor.gz"):
            rates[name] = _rate(_reader(folder / name), options.repeat)
            size = (folder / name).stat().st_size / 1e6
            ratio = rates[name] / rates["c.har"]
            print(f"read  {name:9} {size:6.1f} MB  {rates[name]:9,.0f} entries/s  {ratio:.2f}x HAR")
        for name in ("w.har", "w.jsonl"):
            for redact in (False, True):
                for every in (1, 100):
                    rate = _rate(_writer(folder / name, exchanges, redact, every), options.repeat)
                    label = f"redact={'on ' if redact else 'off'} flush_every={every:<3}"
                    print(f"write {name:9} {label}  {rate:9,.0f} exchanges/s")


def _reader(path: Path) -> Callable[[], int]:
    return lambda: sum(1 for _ in capture.read(path))


def _writer(path: Path, exchanges: list[Exchange], redact: bool, every: int) -> Callable[[], int]:
    return lambda: _write(path, exchanges, redact=redact, flush_every=every)


if __name__ == "__main__":
    main()
