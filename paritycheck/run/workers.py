"""``replay --workers N``: the capture split into N shards (:mod:`paritycheck.run.shards`), each replayed by
its own ``paritycheck replay --shard I/N`` process into one named run.

Processes, not threads: a replay is bound by its one event loop, so one process per core is what lets
a replay use the machine. Each worker is the ordinary shard command, so workers on one machine and
shards across CI jobs are the same code path and store the same merged run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from paritycheck.compare import redact

#: The environment variable that ``--db`` also reads (cli/base.py).
DB_ENV = "PARITYCHECK_DB"
#: Below this much capture one process is faster: each worker pays ~0.5 s of start-up and reads the
#: whole capture to pick its share.
MIN_BYTES_PER_EXTRA_WORKER = 4 * 1024 * 1024
MAX_DEFAULT_WORKERS = 8


@dataclass(frozen=True, slots=True)
class WorkerResult:
    shard: int
    exit_status: int
    #: The worker's last stderr line (its error message) when it did not end with 0 or 1.
    error: str


def default_workers(captures: list[Path]) -> int:
    """One worker per usable core for large captures; one for small ones, where start-up dominates."""
    try:
        size = sum(p.stat().st_size for p in captures)
    except OSError:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_DEFAULT_WORKERS, size // MIN_BYTES_PER_EXTRA_WORKER or 1))


def new_run_name() -> str:
    return f"workers-{uuid.uuid4().hex[:12]}"


def run_workers(args: list[str], *, count: int, name: str, db: str | Path) -> list[WorkerResult]:
    """Run ``paritycheck replay ARGS --shard I/N --run-name NAME`` for I = 1..N at once; wait for all.

    The database goes by the environment (``PARITYCHECK_DB``), never on a command line that ``ps``
    shows to every user of the machine: a PostgreSQL DSN holds a password. So does this run's
    redaction key, so that equal secrets get equal marks in every worker.

    Ctrl-C reaches the workers too (one process group): each finishes its shard as interrupted.
    """
    env = {**os.environ, DB_ENV: str(db), redact.KEY_ENV: redact.current_key().hex()}
    procs = []
    for index in range(1, count + 1):
        command = [
            sys.executable, "-m", "paritycheck", "replay", *args,
            "--shard", f"{index}/{count}", "--run-name", name, "--workers", "1", "--no-report", "--json",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
            )
        )
    results = []
    try:
        for index, proc in enumerate(procs, start=1):
            _, err = proc.communicate()
            results.append(WorkerResult(index, proc.returncode, _error_line(proc.returncode, err)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.wait()
    return results


def _error_line(status: int, stderr: bytes) -> str:
    if status in (0, 1):
        return ""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "internal error:"))]
    return (errors or lines or [f"exit status {status}"])[-1]
