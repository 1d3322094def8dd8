"""``replay --shard I/N --run-name NAME`` and ``replay --workers N``: the options and the workers' run.

The worker processes are ordinary ``replay --shard`` commands (paritycheck.run.workers); this module
turns the replay's own options back into their command line, then summarises the merged run.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paritycheck.errors import ExitStatus, StoreError

if TYPE_CHECKING:
    from paritycheck.config import Config
    from paritycheck.run.plan import ReplayPlan
    from paritycheck.run.workers import WorkersRun

#: replay's options a worker passes on as they are: (option, parameter name). ``--db`` goes by the
#: environment instead (run/workers.py): a DSN's password must not show in ``ps``.
_PASSED = (
    ("--legacy", "legacy"), ("--candidate", "candidate"), ("--config", "config_file"),
    ("--concurrency", "concurrency"), ("--rate", "rate"), ("--timeout", "timeout"),
    ("--contract", "contract_spec"),
)  # fmt: skip


#: How a worker ends when the command passed a signal on to it (early on, the signal's own death).
_STOPPED = (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED, -signal.SIGINT, -signal.SIGTERM)


def shard_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --shard, --run-name and --workers options of ``replay`` (and the workers' hidden --split)."""
    command = click.option("--split", "split_file", type=click.Path(path_type=Path), hidden=True)(command)
    command = click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Processes to split the replay across, into one run  [default: chosen from the captures'"
        " size and sessions, the free cores and where the backends are; 1 for captures under 8 MiB]",
    )(command)
    command = click.option(
        "--run-name", metavar="NAME", help="Name the run (the one every --shard stores into); unique."
    )(command)
    return click.option(
        "--shard", metavar="I/N", help="Replay only the I-th of N parts of the captures (split by session)."
    )(command)


def worker_args(params: dict[str, Any]) -> list[str]:
    """The replay command line (after ``replay``) that reproduces ``params`` in a worker."""
    args = [str(p) for p in params["captures"]]
    for option, name in _PASSED:
        if params.get(name) is not None:
            args += [option, str(params[name])]
    for name in ("include", "exclude", "host"):
        for value in params.get(name) or ():
            args += [f"--{name}", value]
    if params.get("allow_writes"):
        args.append("--allow-writes")
    return args


def replay_with_workers(
    params: dict[str, Any], plan: ReplayPlan, *, config: Config, json_to: Path | str | None, no_report: bool
) -> int:
    """Carry out ``plan`` with worker processes, then print the run's summary as ``replay`` does."""
    from paritycheck.cli.base import DEFAULT_HTML, _stderr, _stdout, _write_reports, emit_json
    from paritycheck.gate import summarise
    from paritycheck.report import terminal
    from paritycheck.run.workers import replay_in_workers
    from paritycheck.store import Store

    err = _stderr()
    db = params["db"]
    err.print(f"replaying with {len(plan.workers)} worker processes into run {plan.name!r}")
    try:
        ended = replay_in_workers(
            plan, worker_args(params), config=config, captures=list(params["captures"]), db=db
        )
    except KeyboardInterrupt:  # before the workers started: nothing of theirs to wait for
        terminal.print_interrupted(db, err=err)
        return ExitStatus.INTERRUPTED
    for result in ended.results:
        stopped = ended.stopped_by is not None and result.exit_status in _STOPPED
        if result.error and not stopped:
            err.print(f"worker {result.shard}/{plan.count}: {result.error}", soft_wrap=True, markup=False)
    run_id = _settled(db, plan, ended)
    if ended.stopped_by is not None:
        terminal.print_interrupted(db, err=err)
        return ExitStatus.TERMINATED if ended.stopped_by == signal.SIGTERM else ExitStatus.INTERRUPTED
    if run_id is None:
        worst = max((r.exit_status or 0) for r in ended.results)
        raise StoreError(f"no worker stored a run (worst exit status {worst})", hint="see the errors above")
    with Store.open(db, create=False) as store:
        summary = summarise(store, run_id)
    if json_to != "-":
        terminal.print_summary(summary, out=_stdout())
    if json_to is not None:
        emit_json(json_to, summary.to_json())
    if not no_report:
        written = _write_reports(db, run_id, html=DEFAULT_HTML)
        err.print(f"report: {written[0]}")
    statuses = {r.exit_status for r in ended.results}
    for status in (ExitStatus.FAILURE, ExitStatus.USAGE):
        if status in statuses:
            return status
    if any(s is None or s < 0 for s in statuses):
        return ExitStatus.FAILURE
    at_parity = summary.mismatched == 0 and summary.failed == 0 and summary.status == "complete"
    return ExitStatus.OK if at_parity and statuses <= {0} else ExitStatus.DIFFERENCES


def _settled(db: Any, plan: ReplayPlan, ended: WorkersRun) -> int | None:
    """The run's id once the shards its workers left unrecorded are recorded (run/workers.py); if the
    store is gone and a worker said why (a lost PostgreSQL), that error."""
    from paritycheck.errors import StoreUnavailable
    from paritycheck.run.workers import settle

    assert plan.name is not None
    try:
        return settle(db, plan.name, ended, empty=plan.empty)
    except StoreError:
        lost = [r.error for r in ended.results if "lost the connection" in r.error]
        if lost:
            raise StoreUnavailable(
                lost[0].removeprefix("error: "),
                hint="once the server is back, `paritycheck replay --resume` (same captures) continues",
            ) from None
        raise


def warn_incomplete(db: Any, run_id: int | None, err: Any) -> None:
    """Say so on stderr when the reported run is a sharded run some of whose shards are missing."""
    from paritycheck.store import Store, shard_progress

    with Store.open(db, create=False) as store:
        run = store.run(run_id if run_id is not None else store.latest_run_id())
    progress = shard_progress(run)
    if progress is not None and progress[0] < progress[1]:
        err.print(
            f"warning: run {run.id} has {progress[0]} of {progress[1]} shards complete;"
            " the report covers what the others stored so far"
        )


def shards_line(db: Any, run_id: int) -> str:
    """``3 of 4 shards complete`` for stored run ``run_id``."""
    from paritycheck.store import Store, describe_shards

    with Store.open(db, create=False) as store:
        return describe_shards(store.run(run_id)) or "not sharded"
