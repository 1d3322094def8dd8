"""``paritycheck replay``: replay captures against both backends, store and summarise the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from paritycheck.cli.base import (
    CONTEXT,
    DEFAULT_HTML,
    _config_option,
    _db_option,
    _stderr,
    _stdout,
    _write_reports,
    cli,
    emit_json,
    interrupt_status,
    json_option,
    load_config,
    override,
)
from paritycheck.cli.shards import replay_with_workers, shard_options, shards_line
from paritycheck.common import aio
from paritycheck.config import MAX_CONCURRENCY
from paritycheck.errors import CaptureError, ExitStatus


@cli.command(context_settings=CONTEXT)
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--legacy", metavar="URL", help="Legacy backend base URL (overrides [backends]).")
@click.option("--candidate", metavar="URL", help="Candidate backend base URL (overrides [backends]).")
@_config_option
@_db_option
@click.option(
    "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), help="Exchanges in flight  [default: 16]"
)
@click.option("--rate", type=click.FloatRange(min=0), help="Max exchanges started per second (0: unlimited).")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Per request, seconds  [default: 10]"
)
@click.option(
    "--include", multiple=True, metavar="'METHOD /glob'", help="Replay only matching requests (repeatable)."
)
@click.option(
    "--exclude", multiple=True, metavar="'METHOD /glob'", help="Do not replay matching requests (repeatable)."
)
@click.option(
    "--host",
    multiple=True,
    metavar="HOST",
    help="Replay only the capture's requests to this host (glob, host or host:port; repeatable; '*' for all)"
    "  [default: [replay] hosts, else the capture's only host, the backends' host or its main API host]",
)
@click.option("--allow-writes", is_flag=True, default=None, help="Also replay POST, PUT, PATCH and DELETE.")
@click.option(
    "--dry-run", is_flag=True, help="Read and filter the captures, print what would be sent, send nothing."
)
@json_option("The run summary")
@click.option(
    "--exit-zero",
    is_flag=True,
    help="Exit 0, not 1, when the run completes with differences: a later `gate` judges it (shards).",
)
@click.option("--no-report", is_flag=True, help=f"Do not write the HTML report ({DEFAULT_HTML}).")
@click.option(
    "--contract",
    "contract_spec",
    metavar="SPEC",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also validate both replies against this OpenAPI description; name endpoints by its paths.",
)
@shard_options
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the newest interrupted or crashed run of these captures, skipping what it stored.",
)
@click.option("--run", "resume_run", type=int, help="With --resume (implied): continue this run instead.")
def replay(exit_zero: bool, **params: Any) -> int:
    """Replay CAPTURES against the legacy and the candidate backend, diff, store and summarise.

    Exit status: 0 every replayed exchange matched, 1 a mismatch or failed exchange (0 with --exit-zero),
    2 usage, config or capture error, 3 a backend that answered no exchange or an internal failure, 130
    interrupted, 143 terminated by SIGTERM (results so far are kept).
    """
    status = _replay(**params)  # typed there, one option each
    return ExitStatus.OK if exit_zero and status == ExitStatus.DIFFERENCES else status


def _replay(
    *,
    captures: tuple[Path, ...],
    legacy: str | None,
    candidate: str | None,
    config_file: Path | None,
    db: Path,
    concurrency: int | None,
    rate: float | None,
    timeout: float | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    host: tuple[str, ...],
    allow_writes: bool | None,
    dry_run: bool,
    json_to: Path | str | None,
    no_report: bool,
    contract_spec: Path | None,
    shard: str | None,
    run_name: str | None,
    workers: int | None,
    split_file: Path | None,
    resume: bool,
    resume_run: int | None,
) -> int:
    """The replay itself: its exit status before --exit-zero."""
    from paritycheck import run as run_module
    from paritycheck.gate import LiveSummary
    from paritycheck.report import terminal
    from paritycheck.run import runner
    from paritycheck.run.plan import plan_replay
    from paritycheck.run.shards import Split
    from paritycheck.run.workers import serve_as_worker

    serve_as_worker()  # a worker of ``replay --workers`` dies with the command that started it

    config = override(
        load_config(config_file),
        legacy=legacy,
        candidate=candidate,
        concurrency=concurrency,
        rate=rate,
        timeout=timeout,
        include=include,
        exclude=exclude,
        hosts=host,
        allow_writes=allow_writes,
    )
    out = _stdout()
    err = _stderr()
    spec = None
    if contract_spec is not None:
        from paritycheck.contract import load_contract

        rules = config.normalise if config.contract.normalised else None
        spec = load_contract(contract_spec, normalise=rules)
    if dry_run:
        plan = run_module.dry_run(config, list(captures), contract=spec)
        return terminal.print_dry_run(plan, config, out=out, json_to=json_to)
    how = plan_replay(
        config, list(captures), db=db, workers=workers, shard=shard, run_name=run_name,
        resume=resume, resume_run=resume_run,
    )  # fmt: skip
    if how.note:
        err.print(how.note, soft_wrap=True, markup=False)
    if how.workers:
        params = click.get_current_context().params
        return replay_with_workers(params, how, config=config, json_to=json_to, no_report=no_report)
    part = how.shard
    live = LiveSummary()
    with terminal.Progress(err, live) as progress:
        try:
            result = aio.run(
                runner.replay_captures(
                    config,
                    list(captures),
                    db=db,
                    on_outcome=progress.advance,
                    contract=spec,
                    live=live,
                    shard=part,
                    resume=how.resume_run is not None,
                    resume_run=how.resume_run,
                    name=how.name if part is None else None,
                    split=Split.load(split_file) if split_file is not None else None,
                )
            )
        except KeyboardInterrupt as exc:
            progress.stop()
            terminal.print_interrupted(db, err=err, run_id=live.run_id, started=live.run_id is not None)
            return interrupt_status(exc)
        except CaptureError:
            progress.stop()
            # stored as capture_error: say how far it got (if this command started a run at all)
            terminal.print_unfinished(db, err=err, run_id=live.run_id)
            raise
    if json_to != "-":
        terminal.print_summary(result.summary, out=out)
        if result.contract is not None:
            out.print(result.contract.to_table())
    if json_to is not None:
        data = result.summary.to_json()
        if result.contract is not None:
            data["contract"] = result.contract.to_json()
        emit_json(json_to, data)
    if part is not None:
        err.print(f"shard {part.index}/{part.count} of run {part.name!r}: {shards_line(db, result.run_id)}")
    if not no_report:
        written = _write_reports(db, result.run_id, html=DEFAULT_HTML)
        err.print(f"report: {written[0]}")
    if result.summary.total - result.summary.skipped == 0:
        err.print("warning: nothing was replayed; every exchange was skipped (see the reasons above)")
    if result.status == "unreachable":
        return ExitStatus.FAILURE  # a backend answered nothing: no verdict, the summary says which
    contract_ok = result.contract is None or result.contract.ok
    return ExitStatus.OK if result.at_parity and contract_ok else ExitStatus.DIFFERENCES
