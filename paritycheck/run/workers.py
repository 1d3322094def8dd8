"""``replay --workers N``: the capture split into N shards (:mod:`paritycheck.run.shards`), each replayed by
its own ``paritycheck replay --shard I/N`` process into one named run.

Processes, not threads: a replay is bound by its one event loop, so one process per core is what lets
a replay use the machine. Each worker is the ordinary shard command, so workers on one machine and
shards across CI jobs are the same code path and store the same merged run.

Signals. The workers run in sessions of their own, so a terminal's Ctrl-C reaches the command alone,
and they die with it: ``PR_SET_PDEATHSIG`` and a watchdog, as the helper children do
(:mod:`paritycheck.common.childproc`). The command passes SIGINT or SIGTERM on to every worker once;
each cancels, flushes and records its shard ``interrupted``, and the command then exits 130 or 143. A
second signal kills the workers at once. A command killed outright (SIGKILL, OOM) takes its workers with
it, leaving shards marked running whose processes are dead: the next command calls the run ``crashed``
(:mod:`paritycheck.store.liveness`). Shards whose worker ended without recording its end (it never
started, or died) are recorded by the command itself (:func:`settle`), so the run gets a status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from paritycheck.common.childproc import die_with_parent, python_module, with_package_path
from paritycheck.compare import redact
from paritycheck.config import Config
from paritycheck.run.plan import ReplayPlan
from paritycheck.run.resume import prepare_resume
from paritycheck.run.shards import Split
from paritycheck.store import Store

#: The environment variable that ``--db`` also reads (cli/base.py).
DB_ENV = "PARITYCHECK_DB"
#: Set by the command in its workers' environment: the pid they must die with.
WORKER_ENV = "PARITYCHECK_WORKER_OF"
_RELAYED = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class WorkerResult:
    shard: int
    #: The worker's exit status; negative when a signal killed it; None when it was never started.
    exit_status: int | None
    #: The worker's last stderr line (its error message) when it did not end with 0 or 1.
    error: str


@dataclass(frozen=True, slots=True)
class WorkersRun:
    """How the workers ended, and the signal that stopped the command (passed on to them), if any."""

    results: list[WorkerResult]
    stopped_by: int | None = None
    #: A second signal came: the workers were killed rather than left to flush.
    killed: bool = False


def serve_as_worker() -> None:
    """In a worker: exit at once when the ``replay --workers`` command that started it dies."""
    parent = os.environ.pop(WORKER_ENV, None)
    if parent and parent.isdigit():
        die_with_parent(int(parent))


@dataclass
class _Relay:
    """The command's SIGINT/SIGTERM handler: pass the first signal on to each worker, kill on the second."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    signum: int | None = None
    killed: bool = False
    _sent: set[int] = field(default_factory=set)

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        self.procs.append(proc)
        if self.signum is not None:  # the signal came while it was starting
            self._send(proc, signal.SIGKILL if self.killed else self.signum)

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            sig = signum
        else:
            self.killed = True
            self._sent.clear()
            sig = signal.SIGKILL
        for proc in list(self.procs):
            self._send(proc, sig)

    def _send(self, proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.pid in self._sent:
            return
        self._sent.add(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        previous = {sig: signal.signal(sig, self) for sig in _RELAYED}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def replay_in_workers(
    plan: ReplayPlan, args: list[str], *, config: Config, captures: Sequence[Path], db: Path | str
) -> WorkersRun:
    """Carry out a plan with workers (``replay ARGS`` is the command line they share): resume checks
    first, then the workers. Returns how they ended; :func:`settle` then records the shards they left
    unrecorded."""
    from paritycheck.run.prepare import describe_captures

    assert plan.name is not None
    Store.open(db).close()  # create and migrate once, before the workers race to
    if plan.resume_run is not None:
        with Store.open(db) as store:
            run = store.run(plan.resume_run)
            prepare_resume(store, config, captures, describe_captures(captures), run)
    return run_workers(args, shards=plan.workers, count=plan.count, name=plan.name, split=plan.split, db=db)


def run_workers(
    args: list[str],
    *,
    shards: Sequence[int],
    count: int,
    name: str,
    db: Path | str,
    split: Split | None = None,
) -> WorkersRun:
    """Run ``paritycheck replay ARGS --shard I/N --run-name NAME`` for each I of ``shards`` at once and
    wait for all; SIGINT and SIGTERM are passed on to them (module docstring).

    The database goes by the environment (``PARITYCHECK_DB``), never on a command line that ``ps``
    shows to every user of the machine: a PostgreSQL DSN holds a password. So does this run's
    redaction key, so that equal secrets get equal marks in every worker.
    """
    relay = _Relay()
    with tempfile.TemporaryDirectory(prefix="paritycheck-workers-") as tmp, relay.installed():
        extra: list[str] = []
        if split is not None:
            split.save(Path(tmp) / "split")
            extra = ["--split", str(Path(tmp) / "split")]
        env = with_package_path(
            {
                **os.environ,
                WORKER_ENV: str(os.getpid()),
                DB_ENV: str(db),
                redact.KEY_ENV: redact.current_key().hex(),
            }
        )
        started: list[tuple[int, subprocess.Popen[bytes], BinaryIO]] = []
        for index in shards:
            if relay.signum is not None:
                break
            command = [
                *python_module("paritycheck"), "replay", *args, "--shard", f"{index}/{count}",
                "--run-name", name, "--workers", "1", "--no-report", "--json", *extra,
            ]  # fmt: skip
            err = (Path(tmp) / f"{index}.err").open("w+b")
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                start_new_session=True,  # the terminal's Ctrl-C reaches the command, which passes it on
            )  # fmt: skip
            relay.add(proc)
            started.append((index, proc, err))
        results = []
        for index, proc, stream in started:
            proc.wait()
            stream.seek(0)
            results.append(WorkerResult(index, proc.returncode, _error_line(proc.returncode, stream.read())))
            stream.close()
    never = [WorkerResult(i, None, "") for i in shards if i not in {r.shard for r in results}]
    return WorkersRun(results + never, relay.signum, relay.killed)


def settle(db: Path | str, name: str, run: WorkersRun, *, empty: Sequence[int] = ()) -> int | None:
    """Record the end of each shard whose worker did not (never started, died, failed before storing it),
    and the ``empty`` shards (no entry: complete without a worker); return the run's id, or None when
    no worker created it."""
    with Store.open(db, create=False) as store:
        run_id = store.run_id_named(name)
        if run_id is None:
            return None
        shards = store.run(run_id).meta.get("shards") or {}
        states = shards.get("state") or {}
        for index in empty:
            if states.get(str(index)) is None:
                store.finish_shard(run_id, shard=index, status="complete")
        for result in run.results:
            if states.get(str(result.shard)) not in (None, "running"):
                continue
            if run.stopped_by is not None and not run.killed:
                status = "interrupted"
            elif result.exit_status is None or result.exit_status < 0:
                status = "crashed"  # killed (a second signal, the OOM killer) before recording its end
            else:
                status = "failed"
            store.finish_shard(run_id, shard=result.shard, status=status)
    return run_id


def _error_line(status: int, stderr: bytes) -> str:
    if status in (0, 1):
        return ""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error:", "internal error:"))]
    fallback = f"exit status {status}"
    if status < 0:
        with contextlib.suppress(ValueError):
            fallback = f"killed by {signal.Signals(-status).name}"
    return (errors or lines or [fallback])[-1]
