"""Measure report generation for a big run: 100,000 exchanges over 20 endpoints with difference groups.

Run: .venv/bin/python bench/report.py [--n 100000] [--endpoints 20] [--db FILE] [--keep]
The goal (issue 4): the HTML report of 100,000 exchanges in under 10 s and under 5 MB. The store is
written through the store API (not timed as part of the report); the figures printed are the time to
build the shared model, to render each format, and the size of each file.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck import findings
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.report import model, render_html, render_junit, render_markdown
from paritycheck.store import Store

JSON = (("content-type", "application/json"),)


def outcomes(n: int, endpoints: int, rng: random.Random) -> list[Outcome]:
    """A run where every third endpoint differs (in over 300 ways) and one endpoint is 3x slower."""
    out = []
    for i in range(n):
        e = i % endpoints
        endpoint = f"GET /api/v1/resource{e}/{{id}}"
        path = f"/api/v1/resource{e}/{i}"
        doc = {
            "id": i,
            "name": f"item {i}",
            "price": round(rng.uniform(1, 500), 2),
            "tags": ["a", "b", "c"],
            "owner": {"id": i % 97, "email": f"user{i % 97}@example.com"},
            "items": list(range(i % 7)),
        }
        legacy_body = orjson.dumps(doc)
        diffs: tuple[Difference, ...] = ()
        status = Status.MATCHED
        if e % 3 == 0 and i % 4 == 0:
            cand = dict(doc, price=str(doc["price"]), extra=True)
            diffs = (
                Difference("type", "$.price", doc["price"], str(doc["price"])),
                Difference("added", "$.extra", None, True),
            )
            # Many rarer groups too (more than the report embeds examples for).
            field = f"f{(i // 20) % 150}"
            cand["owner"] = dict(doc["owner"], **{field: 1})
            diffs += (Difference("added", f"$.owner.{field}", None, 1),)
            if i % 8 == 0:
                cand["items"] = list(reversed(doc["items"]))
                diffs += (Difference("order", "$.items", doc["items"], cand["items"]),)
            candidate_body = orjson.dumps(cand)
            status = Status.MISMATCHED
        else:
            candidate_body = legacy_body
        legacy_ms = rng.lognormvariate(2.5, 0.4)
        candidate_ms = legacy_ms * (3.0 if e == 1 else rng.uniform(0.8, 1.1))
        request = Request(
            "GET", f"http://capture.test{path}", path, headers=(("accept", "application/json"),)
        )
        out.append(
            Outcome(
                exchange=Exchange(index=i, source="bench.har", request=request),
                endpoint=endpoint,
                status=status,
                legacy=Reply(200, JSON, legacy_body, legacy_ms),
                candidate=Reply(200, JSON, candidate_body, candidate_ms),
                differences=diffs,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--db", type=Path, help="reuse (or keep) this database instead of a temporary one")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="paritycheck-bench-"))
    db = args.db or folder / "results.db"
    with Store.open(db) as store:
        if not store.runs():
            t = time.perf_counter()
            items = outcomes(args.n, args.endpoints, random.Random(4))
            run_id = store.start_run(
                tool_version="bench",
                config={},
                backends={"legacy": "l", "candidate": "c"},
                captures=[{"name": "bench.har", "digest": "0" * 64}],
            )
            for o in items:
                store.add(run_id, o)
            store.finish_run(run_id, status="complete")
            print(f"store: {args.n:,} exchanges written in {time.perf_counter() - t:.1f} s ({db})")
        t = time.perf_counter()
        clustered = findings.of_run(store, store.latest_run_id())
        clustering = time.perf_counter() - t
        (n_diffs,) = store.db.execute("SELECT COUNT(*) FROM differences WHERE noise = 0").fetchone()
        t0 = time.perf_counter()
        report = model.build(store)
        t1 = time.perf_counter()
        page = render_html(report)
        t2 = time.perf_counter()
        text = render_markdown(report)
        xml = render_junit(report)
        t3 = time.perf_counter()
    out = folder / "index.html"
    out.write_text(page, encoding="utf-8")
    size = out.stat().st_size
    groups = len(report.groups)
    print(f"exchanges: {report.summary.total:,}  endpoints: {len(report.endpoints)}  groups: {groups}")
    print(f"model (SQL aggregation, findings, latencies, examples): {t1 - t0:.2f} s")
    print(
        f"of which findings: {clustering:.2f} s to cluster {n_diffs:,} differences into {len(clustered)}"
        " findings (bench/findings.py measures 100,000)"
    )
    print(f"HTML render: {t2 - t1:.2f} s   total HTML: {t2 - t0:.2f} s   size: {size / 1e6:.2f} MB ({out})")
    print(
        f"Markdown + JUnit render: {t3 - t2:.3f} s   sizes: {len(text.encode()):,} B, {len(xml.encode()):,} B"
    )
    ok = t2 - t0 < 10 and size < 5_000_000
    print("goal (< 10 s, < 5 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
