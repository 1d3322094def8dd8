"""``replay --shard I/N --run-name NAME`` and ``replay --workers N``: the options and the workers' run.

The worker processes are ordinary ``replay --shard`` commands (paritycheck.run.workers); this module
turns the replay's own options back into their command line, then summarises the merged run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from paritycheck.errors import ExitStatus, StoreError

#: replay's options a worker passes on as they are: (option, parameter name). ``--db`` goes by the
#: environment instead (run/workers.py): a DSN's password must not show in ``ps``.
_PASSED = (
    ("--legacy", "legacy"), ("--candidate", "candidate"), ("--config", "config_file"),
    ("--concurrency", "concurrency"), ("--rate", "rate"), ("--timeout", "timeout"),
    ("--contract", "contract_spec"),
)  # fmt: skip


def shard_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --shard, --run-name and --workers options of ``replay``."""
    command = click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Processes to split the replay across, into one run  [default: 1, or one per core for"
        " captures of several MB]",
    )(command)
    command = click.option(
        "--run-name", metavar="NAME", help="Name of the run the shards store into (with --shard)."
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
    params: dict[str, Any], *, count: int, json_to: Path | str | None, no_report: bool
) -> int:
    """Run ``count`` workers into one new run, then print its summary as ``replay`` does."""
    from paritycheck.cli.base import DEFAULT_HTML, _stderr, _stdout, _write_reports, emit_json
    from paritycheck.gate import summarise
    from paritycheck.report import terminal
    from paritycheck.run import workers
    from paritycheck.store import Store

    err = _stderr()
    Store.open(params["db"]).close()  # create and migrate once, before the workers race to
    name = workers.new_run_name()
    err.print(f"replaying with {count} worker processes into run {name!r}")
    try:
        results = workers.run_workers(worker_args(params), count=count, name=name, db=params["db"])
    except KeyboardInterrupt:
        terminal.print_interrupted(params["db"], err=err)
        return ExitStatus.INTERRUPTED
    for result in results:
        if result.error:
            err.print(f"worker {result.shard}/{count}: {result.error}", soft_wrap=True, markup=False)
    with _open_after(params["db"], results) as store:
        run_id = store.run_id_named(name)
        if run_id is None:
            worst = max(r.exit_status for r in results)
            raise StoreError(
                f"no worker stored a run (worst exit status {worst})", hint="see the errors above"
            )
        summary = summarise(store, run_id)
    if json_to != "-":
        terminal.print_summary(summary, out=_stdout())
    if json_to is not None:
        emit_json(json_to, summary.to_json())
    if not no_report:
        written = _write_reports(params["db"], run_id, html=DEFAULT_HTML)
        err.print(f"report: {written[0]}")
    statuses = {r.exit_status for r in results}
    for status in (ExitStatus.INTERRUPTED, ExitStatus.FAILURE, ExitStatus.USAGE):
        if status in statuses:
            return status
    at_parity = summary.mismatched == 0 and summary.failed == 0
    return ExitStatus.OK if at_parity and statuses <= {0} else ExitStatus.DIFFERENCES


def _open_after(db: Any, results: list[Any]) -> Any:
    """The store the workers wrote; if it is gone and a worker said why (a lost PostgreSQL), that."""
    from paritycheck.errors import StoreError, StoreUnavailable
    from paritycheck.store import Store

    try:
        return Store.open(db, create=False)
    except StoreError:
        lost = [r.error for r in results if "lost the connection" in r.error]
        if lost:
            raise StoreUnavailable(
                lost[0].removeprefix("error: "),
                hint="once the server is back, `paritycheck replay --resume` (same captures) continues",
            ) from None
        raise


def resolve_workers(workers: int | None, captures: tuple[Path, ...], shard: str | None) -> int:
    """--workers, or the default that fits the machine; a shard is always one process."""
    from paritycheck.run import workers as workers_mod

    if shard is not None:
        return 1
    return workers if workers is not None else workers_mod.default_workers(list(captures))


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
