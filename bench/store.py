"""Measure how fast the store writes outcomes: 20,000 with ~1 KB JSON bodies, all distinct and all identical.

Run: .venv/bin/python bench/store.py [--n 20000] [--level 6] [--no-redact] [--child [--rounds 5]]
The replay needs >= 2,500 exchanges/s end to end, so writing should cost well under 100 us per outcome.

``--child`` compares instead, in alternating rounds, the CPU per outcome of the in-process writer's
settings (a transaction per ``store.BATCH`` outcomes, SQLite's default cache and checkpoints) with the
writer child's (``store.child.COMMIT_BATCH`` outcomes, ``Store.for_bulk_writes``), all bodies distinct.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.compare import redact
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store
from paritycheck.store import writer as store_mod

HEADERS = (
    ("content-type", "application/json"),
    ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ("server", "bench"),
    ("cache-control", "no-cache"),
)


def body(i: int) -> bytes:
    items = [
        {"id": i * 100 + k, "sku": f"{(i * 7919 + k * 104729) % 999983:x}", "price": (i * 7 + k) / 100}
        for k in range(26)
    ]
    return orjson.dumps({"data": {"items": items, "page": i}})


def outcomes(n: int, *, distinct: bool) -> list[Outcome]:
    same = body(0)
    out = []
    for i in range(n):
        data = body(i) if distinct else same
        request = Request("GET", f"http://legacy.test/api/items/{i}?page=2", f"/api/items/{i}", "page=2",
                          (("accept", "application/json"), ("authorization", "Bearer abc")))  # fmt: skip
        mismatched = i % 10 == 0
        out.append(
            Outcome(
                Exchange(i, "bench.har", request),
                "GET /api/items/{id}",
                Status.MISMATCHED if mismatched else Status.MATCHED,
                legacy=Reply(200, HEADERS, data, elapsed_ms=1.5),
                candidate=Reply(200, HEADERS, data, elapsed_ms=1.7),
                differences=(Difference("changed", "$.data.page", i, i + 1),) if mismatched else (),
            )
        )
    return out


def measure(n: int, *, distinct: bool) -> None:
    items = outcomes(n, distinct=distinct)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store.open(db) as s:
            run_id = s.start_run(tool_version="bench", config={}, backends={}, captures=[])
            t0 = time.perf_counter()
            for o in items:
                s.add(run_id, o)
            s.finish_run(run_id, status="complete")
            elapsed = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    label = "distinct" if distinct else "identical"
    print(
        f"{label:>9} bodies: {n:,} outcomes in {elapsed:.2f} s = {n / elapsed:,.0f} outcomes/s,"
        f" {elapsed / n * 1e6:.1f} us each; database {size / 1e6:.1f} MB"
    )


def child_settings(n: int, rounds: int) -> None:
    from paritycheck.store.child import COMMIT_BATCH
    from paritycheck.store.sqlite import BATCH

    items = outcomes(n, distinct=True)
    spent: dict[str, list[float]] = {"in-process": [], "child": []}
    for _ in range(rounds):
        for label, batch in (("in-process", BATCH), ("child", COMMIT_BATCH)):
            with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as s:
                if label == "child":
                    s.for_bulk_writes(batch)
                run_id = s.start_run(tool_version="bench", config={}, backends={}, captures=[])
                cpu = time.process_time()
                for o in items:
                    s.add(run_id, o)
                s.flush()
                spent[label].append((time.process_time() - cpu) / n * 1e6)
    for label, values in spent.items():
        print(
            f"{label:>10} settings: {statistics.median(values):.1f} us CPU per outcome (median of {rounds}:"
            f" {', '.join(f'{v:.1f}' for v in values)})"
        )


def compression() -> None:
    data = body(1)
    rounds = 5000
    for level in (1, 3, 6, 9):
        t0 = time.perf_counter()
        for _ in range(rounds):
            packed = zlib.compress(data, level)
        us = (time.perf_counter() - t0) / rounds * 1e6
        print(f"zlib level {level}: {len(data)} B -> {len(packed)} B in {us:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--level", type=int, default=store_mod.LEVEL)
    parser.add_argument(
        "--no-redact", action="store_true", help="pass-through redaction: the store's own cost"
    )
    parser.add_argument("--child", action="store_true", help="the writer child's settings vs in-process")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store_mod.LEVEL = args.level
    if args.child:
        child_settings(args.n, args.rounds)
        return
    if args.no_redact:
        redact.request_secrets = lambda request: ()
        redact.headers = lambda h, found=(): h
        redact.url = lambda u, found=(): u
        redact.body = lambda data, content_type, found=(): data
        redact.json_value = lambda v, found=(), scan=True: v
        redact.text = lambda s, found=(): s
    compression()
    measure(args.n, distinct=True)
    measure(args.n, distinct=False)


if __name__ == "__main__":
    main()
