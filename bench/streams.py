"""Stream comparisons per second: two SSE records of N events, aligned and diffed by Comparator.compare.

Run: .venv/bin/python bench/streams.py [--events 100] [--pairs 200] [--runs 5]

Scenarios, each record camelCase against snake_case (equal after normalisation): (a) the same events,
(b) one event missing in the middle and one payload changed. The same-run ratio against comparing the
same events as one plain JSON array body shows what alignment costs on top of the diff.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.compare import Comparator
from paritycheck.config import NormaliseConfig
from paritycheck.models import STREAM_MEDIA, Reply

EP = "GET /api/v1/activity/stream"


def _event(i: int, *, camel: bool, change: bool = False) -> dict[str, Any]:
    body = {"activityId": i, "kpiId": i % 7, "title": f"KPI {i}", "kind": "kpi.updated"}
    if change:
        body["title"] = "changed"
    if not camel:
        body = {"activity_id": i, "kpi_id": i % 7, "title": body["title"], "kind": body["kind"]}
    return body


def _stream(events: list[dict[str, Any]], salt: int) -> Reply:
    doc = {
        "stream": "sse",
        "events": [{"event": "activity", "id": str(salt), "data": json.dumps(e)} for e in events],
    }
    return Reply(200, (("content-type", STREAM_MEDIA),), json.dumps(doc).encode())


def _plain(events: list[dict[str, Any]], salt: int) -> Reply:
    return Reply(
        200, (("content-type", "application/json"),), json.dumps({"salt": salt, "items": events}).encode()
    )


def _pairs(n: int, count: int, *, differ: bool, stream: bool) -> list[tuple[Reply, Reply]]:
    make = _stream if stream else _plain
    out = []
    for p in range(count):
        a = [_event(i, camel=True) for i in range(n)]
        b = [
            _event(i, camel=False, change=differ and i == n // 3)
            for i in range(n)
            if not (differ and i == n // 2)
        ]
        out.append((make(a, p), make(b, p)))
    return out


def _rate(pairs: list[tuple[Reply, Reply]], runs: int) -> float:
    rates = []
    for _ in range(runs):
        comparator = Comparator(NormaliseConfig())
        start = time.perf_counter()
        for a, b in pairs:
            comparator.compare(EP, a, b)
        rates.append(len(pairs) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for differ in (False, True):
        stream = _rate(_pairs(args.events, args.pairs, differ=differ, stream=True), args.runs)
        plain = _rate(_pairs(args.events, args.pairs, differ=differ, stream=False), args.runs)
        label = "one missing + one changed" if differ else "equal after normalising"
        print(f"{args.events} events, {label}: streams {stream:,.0f} pairs/s "
              f"({stream * args.events:,.0f} events/s); as one JSON body {plain:,.0f} pairs/s; "
              f"ratio {stream / plain:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
