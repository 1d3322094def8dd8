"""``paritycheck explore``: generate requests from an OpenAPI description and compare both backends."""

from __future__ import annotations

from pathlib import Path

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
    json_option,
    load_config,
    override,
)
from paritycheck.common import aio
from paritycheck.errors import ExitStatus


@cli.command("explore", context_settings=CONTEXT)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("captures", nargs=-1, metavar="[CAPTURE]...", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--legacy", metavar="URL", help="Legacy backend base URL (overrides [backends]).")
@click.option("--candidate", metavar="URL", help="Candidate backend base URL (overrides [backends]).")
@_config_option
@_db_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated examples.")
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Valid examples, and invalid ones, per operation.",
)
@click.option(
    "--all", "all_operations", is_flag=True, help="Cover every operation, not only those not yet exercised."
)
@click.option(
    "--allow-writes",
    is_flag=True,
    default=None,
    help="Also generate POST, PUT, PATCH and DELETE (or [explore] allow_writes; [replay]'s does not).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop generating after.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the generated capture  [default: explore-seed<SEED>.jsonl next to --db]",
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.har",
    help="Write the generated requests whose answers differed as a HAR capture, for the nightly replay.",
)
@json_option("The explore result")
@click.option("--no-report", is_flag=True, help=f"Do not write the HTML report ({DEFAULT_HTML}).")
def explore_command(
    spec: Path,
    captures: tuple[Path, ...],
    legacy: str | None,
    candidate: str | None,
    config_file: Path | None,
    db: Path,
    seed: int,
    max_examples: int,
    all_operations: bool,
    allow_writes: bool | None,
    time_limit: float | None,
    out: Path | None,
    save: Path | None,
    json_to: Path | str | None,
    no_report: bool,
) -> int:
    """Generate requests from SPEC (valid and invalid) and replay them against both backends.

    Covers the operations that the stored runs and the given CAPTUREs never exercised (all with --all):
    valid examples, missing required fields, wrong types, out-of-range values, no credentials and
    malformed bodies. The run is stored like a replay; the same --seed gives the same requests.

    Exit status: 0 every answer matched, 1 differences, 2 usage, spec or config error, 3 a backend that
    answered no request or an internal failure, 130 interrupted.
    """
    from paritycheck.explore import explore, prepare
    from paritycheck.gate import LiveSummary
    from paritycheck.report import terminal
    from paritycheck.report.explore import OperationProgress, print_explore

    config = override(load_config(config_file), legacy=legacy, candidate=candidate)
    err = _stderr()
    with OperationProgress(err) as steps:
        prepared = prepare(
            config,
            spec,
            db=db,
            seed=seed,
            max_examples=max_examples,
            all_operations=all_operations,
            captures=captures,
            time_limit=time_limit,
            on_operation=steps.advance,
            allow_writes=allow_writes,
        )
    live = LiveSummary()
    with terminal.Progress(err, live) as progress:
        try:
            result = aio.run(
                explore(
                    config,
                    spec,
                    db=db,
                    seed=seed,
                    max_examples=max_examples,
                    out=out,
                    save=save,
                    prepared=prepared,
                    on_outcome=progress.advance,
                    live=live,
                )
            )
        except KeyboardInterrupt:
            progress.stop()
            terminal.print_interrupted(db, err=err, run_id=live.run_id, started=live.run_id is not None)
            return ExitStatus.INTERRUPTED
    if json_to != "-":
        terminal.print_summary(result.run.summary, out=_stdout())
        print_explore(result, out=_stdout())
    if json_to is not None:
        emit_json(json_to, result.to_json())
    for warning in result.warnings:
        err.print(f"warning: {warning}", soft_wrap=True)
    if not no_report:
        written = _write_reports(db, result.run.run_id, html=DEFAULT_HTML)
        err.print(f"report: {written[0]}")
    if result.run.status == "unreachable":
        return ExitStatus.FAILURE  # a backend answered nothing: no verdict, the summary says which
    return ExitStatus.OK if result.run.at_parity else ExitStatus.DIFFERENCES
