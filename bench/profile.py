"""Where a replay's CPU goes: each process's CPU per pair, split by pipeline stage with py-spy's samples.

Runs paritycheck end to end as ``bench/replay.py`` does ((2) and (3): 20,000 GETs of ~1 KB JSON,
concurrency 32, local bench backends in their own processes) for each scenario:

- ``match``: every pair answers the same bytes;
- ``differ``: every pair differs in one field;
- ``sessions``: every pair matches, and each exchange carries one of ``--users`` ``Authorization``
  values, so the default ``[sessions] key = "auto"`` groups them into that many sessions.

Each scenario runs ``--rounds`` times in a worker process; CPU time is measured per process (the
worker's own with ``process_time`` around the run, each helper child's from its rusage when it is
reaped) and divided by the pairs. With py-spy installed (``pip install py-spy``; ``--no-spy`` skips
it), the worker runs under ``py-spy record --subprocesses --nonblocking`` and every sample is put in
one stage by its innermost frame that belongs to one (``STAGES``), so a process's CPU per pair is
split in the proportions of its samples. Samples count a thread that is running or runnable, so on a
loaded machine the split is of busy time, not strictly of CPU; the per-process totals are CPU time.

Usage: ``.venv/bin/python bench/profile.py [--scenarios match,differ,sessions] [--rounds 3]
[--pairs 20000] [--users 200] [--rate 200] [--no-spy] [--keep DIR]``. To profile another copy of the
package (the code before a change), put it first on ``PYTHONPATH``: the helper children import the
copy the worker imported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SCENARIOS = ("match", "differ", "sessions")

#: (pattern in a frame, stage), tried from the innermost frame outwards; the first frame that matches
#: names the sample's stage. Frames that match none (asyncio, uvloop, the standard library, the
#: dataclasses' generated ``__init__``) are charged to the caller that does match.
STAGES: tuple[tuple[str, str], ...] = (
    ("paritycheck/replay/http1.py", "client"),
    ("paritycheck/replay/transport.py", "client"),
    ("paritycheck/replay/engine.py", "engine + scheduling"),
    ("paritycheck/capture/prefetch.py", "capture: framing"),
    ("paritycheck/capture/child.py", "capture: framing"),
    ("paritycheck/capture/select.py", "endpoint + select"),
    ("paritycheck/capture/", "capture: parsing"),
    ("paritycheck/common/endpoints.py", "endpoint + select"),
    ("paritycheck/session/", "sessions"),
    ("paritycheck/compare/redact.py", "store: redaction"),
    ("paritycheck/compare/", "compare"),
    ("paritycheck/noise/", "noise evidence"),
    ("paritycheck/gate/", "live summary"),
    ("Writer.flush ", "store: SQLite inserts"),
    ("Writer._body ", "store: bodies (digest, zlib)"),
    ("paritycheck/store/liveness.py", "heartbeat"),
    ("paritycheck/store/childwriter.py", "store: framing"),
    ("paritycheck/store/child.py", "store: framing"),
    ("paritycheck/common/childproc.py", "store: framing"),
    ("paritycheck/store/", "store: rows"),
    ("paritycheck/common/gctune.py", "runner"),
    ("paritycheck/run/", "runner"),
)
_IMPORT = re.compile(r"^(<module>|_find_and_load|_call_with_frames_removed) ")


def process_kind(labels: list[str], frames: list[str]) -> str:
    """``parent``, ``capture child``, ``store child`` or ``backend``, from a sample's process labels and
    frames (py-spy may keep the label a child had before its exec, the worker's command line)."""
    text = labels[-1] + ";".join(frames[:4]) if len(labels) > 1 else ""
    if "capture.child" in text or "capture/child.py" in text:
        return "capture child"
    if "store.child" in text or "store/child.py" in text:
        return "store child"
    if "servers.py" in text:
        return "backend"
    return "parent"


def stage_of(frames: list[str]) -> str:
    """The stage of one sample: its innermost frame in ``STAGES`` (imports are start-up)."""
    if any(_IMPORT.match(f) for f in frames[3:]):  # below the interpreter's own start-up frames
        return "start-up (imports)"
    for frame in reversed(frames):
        for pattern, stage in STAGES:
            if pattern in frame:
                return stage
    return "event loop, other"


def split_samples(raw: Path) -> dict[str, Counter[str]]:
    """``{process kind: Counter(stage -> samples)}`` from py-spy's raw (collapsed stacks) output."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        labels = [f for f in frames if f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("process ")]
        if any(f.startswith("_watchdog ") for f in frames):
            continue  # a helper child's parent watchdog sleeps; py-spy's nonblocking mode may call it busy
        out[process_kind(labels, frames)][stage_of(frames)] += int(count)
    return out


# --- the worker: runs the scenario's rounds and writes each process's CPU per pair ------------------


def _write_capture(path: Path, pairs: int, users: int) -> None:
    sys.path.insert(0, str(BENCH))
    import replay as bench_replay

    targets = bench_replay.paths(pairs)
    if not users:
        bench_replay.write_har(path, targets)
        return
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
        for i, target in enumerate(targets):
            entry = json.loads(bench_replay._entry(target))
            auth = {"name": "Authorization", "value": f"Bearer user-{i % users:05d}"}
            entry["request"]["headers"].append(auth)
            fh.write(("," if i else "") + json.dumps(entry, separators=(",", ":")))
        fh.write("]}}")


def worker(scenario: str, rounds: int, pairs: int, users: int, out: Path) -> None:
    """Run ``rounds`` end-to-end replays of ``scenario``; write CPU per pair per process to ``out``."""
    sys.path.insert(0, str(BENCH))
    from servers import backend

    from paritycheck.common import aio, childproc
    from paritycheck.config import Backend, Backends, Config, ReplayConfig
    from paritycheck.run import replay_captures

    children: Counter[str] = Counter()
    close = childproc.Child.close

    def measured_close(self: Any, **kwargs: Any) -> None:
        # Children are reaped one at a time, here: the rusage they add is theirs.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        close(self, **kwargs)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        args = self.process.args
        module = args[args.index("-m") + 1]  # python [-P] -m paritycheck.<stage>.<name>
        children[module.split(".")[-2] + " child"] += spent

    childproc.Child.close = measured_close  # type: ignore[method-assign]
    results = []
    with tempfile.TemporaryDirectory(prefix="paritycheck-profile-") as tmp:
        workdir = Path(tmp)
        har = workdir / "capture.har"
        _write_capture(har, pairs, users if scenario == "sessions" else 0)
        with backend() as legacy, backend(differ=scenario == "differ") as candidate:
            config = Config(
                backends=Backends(legacy=Backend(url=legacy), candidate=Backend(url=candidate)),
                replay=ReplayConfig(concurrency=32, timeout=10),
            )
            for i in range(rounds):
                children.clear()
                db = workdir / f"run{i}.db"
                started, cpu = time.perf_counter(), time.process_time()
                result = aio.run(replay_captures(config, [har], db=db))
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                n = result.summary.total
                row = {"pairs/s": n / elapsed, "parent": cpu / n * 1e6, "matched": result.summary.matched}
                row.update({kind: spent / n * 1e6 for kind, spent in children.items()})
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    out.write_text(json.dumps(results))


# --- the driver -----------------------------------------------------------------------------------


def _spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def profile(scenario: str, args: argparse.Namespace, keep: Path) -> None:
    out = keep / f"{scenario}.json"
    cmd = [sys.executable, __file__, "--worker", scenario, "--rounds", str(args.rounds)]
    cmd += ["--pairs", str(args.pairs), "--users", str(args.users), "--out", str(out)]
    spy = None if args.no_spy else _spy()
    raw = keep / f"{scenario}.txt"
    if spy:
        spied = [spy, "record", "--nonblocking", "--subprocesses", "-r", str(args.rate), "-f", "raw"]
        cmd = [*spied, "-o", str(raw), "--", *cmd]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rounds = json.loads(out.read_text())
    kinds = [k for k in rounds[0] if k not in ("pairs/s", "matched")]
    median = {k: statistics.median(r.get(k, 0.0) for r in rounds) for k in [*kinds, "pairs/s"]}
    print(f"\n== {scenario}: {median['pairs/s']:,.0f} pairs/s (median of {len(rounds)}; matched"
          f" {rounds[-1]['matched']:,} of {args.pairs:,} in the last)")  # fmt: skip
    print("   CPU per pair: " + ", ".join(f"{k} {median[k]:.0f} µs" for k in kinds))
    if not spy:
        return
    samples = split_samples(raw)
    names = {"parent": "parent", "capture child": "capture child", "store child": "store child"}
    for kind, name in names.items():
        counted = samples.get(kind)
        if not counted or name not in median:
            continue
        total = sum(counted.values())
        print(f"   {name} ({median[name]:.0f} µs per pair, {total:,} samples):")
        for stage, n in counted.most_common():
            if n / total >= 0.005:
                print(f"     {stage:<32} {n / total:6.1%}  {median[name] * n / total:6.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=200, help="Authorization values (sessions scenario)")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--no-spy", action="store_true", help="CPU per process only, without py-spy")
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw output and the figures here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.rounds, args.pairs, args.users, args.out)
        return
    with tempfile.TemporaryDirectory(prefix="paritycheck-profile-") as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        print(f"bench/profile.py: {args.pairs:,} pairs, concurrency 32, {args.rounds} rounds per scenario;"
              f" load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        for scenario in args.scenarios.split(","):
            profile(scenario, args, keep)


if __name__ == "__main__":
    main()
