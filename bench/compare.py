"""Comparisons per second through Comparator.compare on ~1 KB JSON bodies.

Run: .venv/bin/python bench/compare.py [--pairs 2000] [--runs 5]

Every pair has its own bodies (an id differs), so the normalised-body cache never hits: these are
cold figures. Scenarios: (a) identical bytes on both sides, (a2) equal only after normalisation
(a C#-style envelope with camelCase keys and 7-digit timestamps against a bare snake_case payload with
+00:00 offsets), (b) like a2 but one field differs, (c) like a2 but the candidate's 5-element
``history`` list lost its first element, so the arrays are aligned (difflib over canonical forms, issue 12
point 5) before any element is blamed, (d) like a2 but the candidate's ``tags`` come back in reverse
order with each colour in upper case: objects with no named identity key, matched by a learned one
(``label``), which costs both alignments (issue 21.8). Targets: >= 2,500/s when all match, >= 1,000/s
when every pair differs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.compare import Comparator
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.models import Reply

JSON = (("content-type", "application/json; charset=utf-8"), ("cache-control", "no-cache"))
ENDPOINT = "GET /api/v1/kpis/{id}"


def legacy_doc(i: int) -> dict[str, Any]:
    return {
        "success": True,
        "data": {
            "kpiId": i,
            "name": f"Monthly revenue {i}",
            "ownerUserID": 1234,
            "createdAt": "2024-05-01T10:00:00.1234567Z",
            "updatedAt": "2024-05-02T11:30:00.5000000Z",
            "value": 1234.5,
            "target": 2000.0,
            "unit": "EUR",
            "description": "Sum of invoiced revenue for the calendar month, net of credit notes and refunds.",
            "isActive": True,
            "tags": [{"tagId": t, "label": f"tag-{t}", "colorHex": "#a0b0c0"} for t in range(4)],
            "history": [{"periodStart": f"2024-0{m}-01T00:00:00Z", "amount": 100.0 * m} for m in range(1, 6)],
            "links": {
                "self": f"/api/v1/kpis/{i}",
                "tags": f"/api/v1/kpis/{i}/tags",
                "owner": "/api/v1/users/1234",
            },
            "meta": {"requestId": f"req-{i}", "traceId": "abc"},
        },
        "error": None,
    }


def candidate_doc(i: int, *, changed: bool, dropped: bool = False, reordered: bool = False) -> dict[str, Any]:
    history = [{"period_start": f"2024-0{m}-01T00:00:00+00:00", "amount": 100 * m} for m in range(1, 6)]
    return {
        "kpi_id": i,
        "name": f"Monthly revenue {i}",
        "owner_user_id": 1234,
        "created_at": "2024-05-01T10:00:00.123456+00:00",
        "updated_at": "2024-05-02T11:30:00.500000+00:00",
        "value": 1234.6 if changed else 1234.5,
        "target": 2000,
        "unit": "EUR",
        "description": "Sum of invoiced revenue for the calendar month, net of credit notes and refunds.",
        "is_active": True,
        "tags": [
            {"tag_id": t, "label": f"tag-{t}", "color_hex": "#A0B0C0" if reordered else "#a0b0c0"}
            for t in (range(3, -1, -1) if reordered else range(4))
        ],
        "history": history[1:] if dropped else history,
        "links": {
            "self": f"/api/v1/kpis/{i}",
            "tags": f"/api/v1/kpis/{i}/tags",
            "owner": "/api/v1/users/1234",
        },
        "meta": {"request_id": f"other-{i}", "trace_id": "xyz"},
    }


def pairs(kind: str, n: int) -> list[tuple[Reply, Reply]]:
    out = []
    for i in range(n):
        legacy = orjson.dumps(legacy_doc(i))
        if kind == "identical":
            candidate = legacy
        else:
            flags = {
                "changed": kind == "differing",
                "dropped": kind == "dropped",
                "reordered": kind == "reordered",
            }
            candidate = orjson.dumps(candidate_doc(i, **flags))
        out.append((Reply(200, JSON, legacy), Reply(200, JSON, candidate)))
    return out


def run(kind: str, n: int, runs: int) -> tuple[float, int, int]:
    rates = []
    found = 0
    data = pairs(kind, n)
    for _ in range(runs):
        comparator = Comparator(
            NormaliseConfig(ignore=("$.meta.request_id", "$..trace_id")),
            [EndpointRule(match="GET /api/v1/kpis/{id}/tags", unordered=("$.data",))],
        )
        start = time.perf_counter()
        found = sum(1 for legacy, candidate in data if comparator.compare(ENDPOINT, legacy, candidate))
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), len(data[0][0].body), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.pairs} pairs per run, median of {args.runs} runs, cold cache (every body distinct)")
    for kind, label in (
        ("identical", "(a)  identical bytes"),
        ("equal", "(a2) equal after normalisation"),
        ("differing", "(b)  one field differs"),
        ("dropped", "(c)  a list lost its first element"),
        ("reordered", "(d)  objects reordered and changed"),
    ):
        rate, size, found = run(kind, args.pairs, args.runs)
        print(f"{label:34} {rate:>10,.0f} comparisons/s  (legacy body {size} B, {found} pairs differ)")


if __name__ == "__main__":
    main()
