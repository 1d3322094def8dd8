"""``contract``, ``noise`` and ``suggest``: check a run against a spec and learn from it."""

from __future__ import annotations

from pathlib import Path

import click

from paritycheck.cli.base import (
    CONTEXT,
    _config_option,
    _db_option,
    _latest,
    _stdout,
    cli,
    emit_json,
    json_option,
    load_config,
)
from paritycheck.errors import ExitStatus


@cli.command("contract", context_settings=CONTEXT)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("captures", nargs=-1, metavar="[CAPTURE]...", type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@click.option("--run", "run_id", type=int, help="Run to check (default: the latest run); not with CAPTURE.")
@click.option(
    "--normalised/--raw",
    default=None,
    help="Validate through the [normalise] rules (key case, envelope) instead of the raw wire format"
    "  [default: [contract] normalised, else raw]",
)
@_config_option
@json_option("The contract report")
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write JUnit XML: a testcase per operation seen.",
)
def contract_command(
    spec: Path,
    captures: tuple[Path, ...],
    db: Path,
    run_id: int | None,
    normalised: bool | None,
    config_file: Path | None,
    json_to: Path | str | None,
    junit_path: Path | None,
) -> int:
    """Validate responses against the OpenAPI description SPEC; report the operations exercised.

    With CAPTURE files, the responses recorded in them; else both backends' replies of a run (default:
    the latest in --db), side by side. Exit status: 0 no violations, 1 violations, 2 invalid spec or
    usage error.
    """
    from paritycheck import contract

    config = load_config(config_file)
    report = contract.check(
        spec,
        list(captures),
        db=db,
        run_id=run_id,
        normalised=config.contract.normalised if normalised is None else normalised,
        rules=config.normalise,
    )
    if junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_text(contract.to_junit(report), encoding="utf-8")
    if json_to != "-":
        _stdout().print(report.to_table())
    if json_to is not None:
        emit_json(json_to, report.to_json())
    return ExitStatus.OK if report.ok else ExitStatus.DIFFERENCES


@cli.command("noise", context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@json_option("The noise paths")
def noise_command(db: Path, run_id: int | None, json_to: Path | str | None) -> int:
    """List the paths a run (default: the latest) classed as noise, with the evidence (docs/noise.md)."""
    from paritycheck.noise import noise_paths
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:
        run = _latest(store, run_id)
        paths = noise_paths(store, run)
    if json_to is not None:
        rows = [{"endpoint": p.endpoint, **p.to_json(), "raw": p.raw, "total": p.total} for p in paths]
        emit_json(json_to, {"run_id": run, "noise": rows})
        if json_to == "-":
            return ExitStatus.OK
    out = _stdout()
    if not paths:
        out.print(f"run {run}: no path was classed as noise")
    for p in paths:
        out.print(
            f"{p.endpoint}  {p.path}  {p.describe()}; differed on {p.raw}/{p.total} against the candidate",
            soft_wrap=True,
        )
    return ExitStatus.OK


@cli.command("suggest", context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration to merge the rules into (default: the one the run was made with).",
)
def suggest_command(db: Path, run_id: int | None, config_file: Path | None) -> int:
    """Print [normalise] and [[endpoint]] rules (TOML) that remove a run's false mismatches."""
    from paritycheck.noise.suggest import config_of_run, suggest
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:
        run = _latest(store, run_id)
        config = load_config(config_file) if config_file else config_of_run(store.run(run))
        click.echo(suggest(store, run, config).to_toml(), nl=False)
    return ExitStatus.OK
