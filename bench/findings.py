"""Measure clustering a run's differences into findings (issue 21): the cost per 100,000 differences.

Run: .venv/bin/python bench/findings.py [--differences 100000] [--endpoints 40] [--repeat 5] [--db FILE]

The run mixes what clustering has to sort out: fields that differ on every endpoint, absence
conventions, type changes, status changes whose body differences are their consequences, renames.
The store is written through the store API first (not timed). Printed: the median over ``--repeat``
runs of reading the rows (SQL), the pass over them, and the whole of ``findings.of_run``, with the
number of findings.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck import findings
from paritycheck.findings.cluster import assemble, cluster, first_ids
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store


def outcomes(differences: int, endpoints: int, rng: random.Random) -> list[Outcome]:
    """Mismatched exchanges of about 3 differences each until ``differences`` are written."""
    out: list[Outcome] = []
    written = 0
    i = 0
    while written < differences:
        e = i % endpoints
        method = "DELETE" if e % 10 == 9 else "GET"
        endpoint = f"{method} /api/v1/resource{e}/{{id}}"
        diffs: list[Difference] = []
        legacy_status = candidate_status = 200
        kind = i % 7
        if kind == 0 and method == "DELETE":
            legacy_status, candidate_status = 401, 204
            diffs += [
                Difference("status", "status", 401, 204),
                Difference("removed", "$.error", {"c": 1}, None),
            ]
        elif kind == 1:
            legacy_status, candidate_status = 404, 400
            diffs += [
                Difference("status", "status", 404, 400),
                Difference("removed", "$.error.code", "NOT_FOUND", None),
                Difference("added", "$.detail", None, "not found"),
            ]
        else:
            n = rng.randint(1, 4)
            diffs += [Difference("type", f"$.items[{k}].owner.bio", None, "") for k in range(n)]
            diffs.append(Difference("removed", "$.description", None, None))
            if i % 3 == 0:
                diffs.append(Difference("changed", f"$.f{i % 40}", 1, 2))
            if i % 11 == 0:
                diffs += [
                    Difference("removed", "$.user", "ana", None),
                    Difference("added", "$.username", None, "ana"),
                ]
        request = Request(method, f"http://capture.test/api/v1/resource{e}/{i}", f"/api/v1/resource{e}/{i}")
        out.append(
            Outcome(
                Exchange(i, "bench.har", request),
                endpoint,
                Status.MISMATCHED,
                Reply(legacy_status, (), b"{}", 10.0),
                Reply(candidate_status, (), b"{}", 11.0),
                differences=tuple(diffs),
            )
        )
        written += len(diffs)
        i += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--differences", type=int, default=100_000)
    parser.add_argument("--endpoints", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="reuse (or keep) this database instead of a temporary one")
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="paritycheck-bench-")) / "results.db"
    with Store.open(db) as store:
        if not store.runs():
            t = time.perf_counter()
            run_id = store.start_run(tool_version="bench", config={}, backends={}, captures=[])
            for o in outcomes(args.differences, args.endpoints, random.Random(21)):
                store.add(run_id, o)
            store.finish_run(run_id, status="complete")
            print(f"store: written in {time.perf_counter() - t:.1f} s ({db})")
        run_id = store.latest_run_id()
        (n,) = store.db.execute("SELECT COUNT(*) FROM differences WHERE run_id = ?", (run_id,)).fetchone()
        read, passed, whole = [], [], []
        found = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rows = list(store.difference_rows(run_id))
            t1 = time.perf_counter()
            counted = cluster(iter(rows), refused=store.refusals(run_id))
            assemble(counted, store.difference_values(first_ids(counted)), run_id=run_id)
            t2 = time.perf_counter()
            found = findings.of_run(store, run_id)
            t3 = time.perf_counter()
            read.append(t1 - t0)
            passed.append(t2 - t1)
            whole.append(t3 - t2)
    assert found is not None
    per = 100_000 / n
    print(f"differences: {n:,}  findings: {len(found)}  members: {len(found.members)}")
    print(
        f"median of {args.repeat}: read rows {statistics.median(read):.2f} s, cluster + assemble"
        f" {statistics.median(passed):.2f} s, findings.of_run {statistics.median(whole):.2f} s"
    )
    print(f"per 100,000 differences: {statistics.median(whole) * per:.2f} s (findings.of_run)")


if __name__ == "__main__":
    main()
