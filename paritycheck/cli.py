"""Command-line interface: click commands only.

Each command parses options, builds a configuration, calls one library function and maps the outcome
to an :class:`~paritycheck.errors.ExitStatus`. Errors go to stderr as one line plus a hint; a traceback
only with ``--traceback``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from paritycheck import aio
from paritycheck import config as config_mod
from paritycheck.config import Config
from paritycheck.errors import ExitStatus, ParitycheckError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _stdout() -> Console:
    """Results console: on a pipe or in CI logs, 120 columns rather than rich's 80 (COLUMNS overrides)."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=120)
    return console


class _Group(click.Group):
    """Maps exceptions and integer return values of commands to exit statuses, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except ParitycheckError as exc:
            err = _stderr()
            err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False, soft_wrap=True)
            if exc.hint:
                err.print(f"[dim]hint:[/] {exc.hint}", soft_wrap=True)
            if ctx.params.get("traceback"):
                raise
            ctx.exit(int(exc.exit_status))
        except KeyboardInterrupt:
            _stderr().print("interrupted")
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except Exception as exc:
            if ctx.params.get("traceback"):
                raise
            _stderr().print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}",
                soft_wrap=True,
            )
            _stderr().print("[dim]hint:[/] run again with --traceback and report it")
            ctx.exit(int(ExitStatus.FAILURE))
        if isinstance(result, int):
            ctx.exit(result)
        return result


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="paritycheck", message="paritycheck %(version)s")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
def cli(traceback: bool) -> None:
    """Shadow-traffic API parity tester: replay captured requests against a legacy and a candidate
    backend, diff the answers, and report whether the candidate is ready."""


def load_config(config_file: Path | None) -> Config:
    return config_mod.load(config_file)


def override(config: Config, **options: Any) -> Config:
    """Apply command-line options (None = not given) on top of the loaded configuration."""
    backends = config.backends
    for side in ("legacy", "candidate"):
        url = options.pop(side, None)
        if url:
            backends = dataclasses.replace(
                backends, **{side: dataclasses.replace(getattr(backends, side), url=url)}
            )
    replay_opts = {k: v for k, v in options.items() if v not in (None, ())}
    if "include" in replay_opts:
        replay_opts["include"] = tuple(replay_opts["include"])
    if "exclude" in replay_opts:
        replay_opts["exclude"] = tuple(replay_opts["exclude"])
    return dataclasses.replace(
        config, backends=backends, replay=dataclasses.replace(config.replay, **replay_opts)
    )


DEFAULT_HTML = Path("reports/index.html")


def _write_reports(db: Path, run_id: int | None, **targets: Any) -> list[Path]:
    from paritycheck.report.html import write_reports
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:
        return write_reports(
            store,
            run_id,
            html_path=targets.get("html"),
            markdown_path=targets.get("markdown"),
            junit_path=targets.get("junit"),
            max_examples=targets.get("max_examples", 5),
        )


_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=config_mod.DEFAULT_DB,
    show_default=True,
    help="SQLite results database.",
)
_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: ./paritycheck.toml, else [tool.paritycheck] in ./pyproject.toml).",
)


@cli.command(context_settings=CONTEXT)
@click.argument("captures", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--legacy", metavar="URL", help="Legacy backend base URL (overrides [backends]).")
@click.option("--candidate", metavar="URL", help="Candidate backend base URL (overrides [backends]).")
@_config_option
@_db_option
@click.option("--concurrency", type=click.IntRange(min=1), help="Exchanges in flight  [default: 16]")
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
@click.option("--allow-writes", is_flag=True, default=None, help="Also replay POST, PUT, PATCH and DELETE.")
@click.option(
    "--dry-run", is_flag=True, help="Read and filter the captures, print what would be sent, send nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.option("--no-report", is_flag=True, help=f"Do not write the HTML report ({DEFAULT_HTML}).")
@click.option(
    "--contract",
    "contract_spec",
    metavar="SPEC",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also validate both replies against this OpenAPI description; name endpoints by its paths.",
)
def replay(
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
    allow_writes: bool | None,
    dry_run: bool,
    as_json: bool,
    no_report: bool,
    contract_spec: Path | None,
) -> int:
    """Replay CAPTURES against the legacy and the candidate backend, diff, store and summarise.

    Exit status: 0 every replayed exchange matched, 1 a mismatch or failed exchange, 2 usage, config or
    capture error, 3 internal failure, 130 interrupted (results so far are kept).
    """
    from paritycheck import runner
    from paritycheck.report import terminal

    config = override(
        load_config(config_file),
        legacy=legacy,
        candidate=candidate,
        concurrency=concurrency,
        rate=rate,
        timeout=timeout,
        include=include,
        exclude=exclude,
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
        return terminal.print_dry_run(runner.dry_run(config, list(captures), contract=spec), config, out=out)
    with terminal.Progress(err) as progress:
        try:
            result = aio.run(
                runner.replay_captures(
                    config, list(captures), db=db, on_outcome=progress.advance, contract=spec
                )
            )
        except KeyboardInterrupt:
            progress.stop()
            terminal.print_interrupted(db, err=err)
            return ExitStatus.INTERRUPTED
    if as_json:
        data = result.summary.to_json()
        if result.contract is not None:
            data["contract"] = result.contract.to_json()
        click.echo(json.dumps(data, indent=2))
    else:
        terminal.print_summary(result.summary, out=out)
        if result.contract is not None:
            out.print(result.contract.to_table())
    if not no_report:
        written = _write_reports(db, result.run_id, html=DEFAULT_HTML)
        err.print(f"report: {written[0]}")
    if result.summary.total - result.summary.skipped == 0:
        err.print("warning: nothing was replayed; every exchange was skipped (see the reasons above)")
    contract_ok = result.contract is None or result.contract.ok
    return ExitStatus.OK if result.at_parity and contract_ok else ExitStatus.DIFFERENCES


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_HTML,
    show_default=True,
    help="Self-contained HTML report.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Markdown summary, e.g. $GITHUB_STEP_SUMMARY.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JUnit XML: a testcase per endpoint.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The run summary as JSON (same schema as replay --json).",
)
@click.option(
    "--max-examples",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Example exchanges embedded per difference group.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML report in the default browser.")
def report(
    db: Path,
    run_id: int | None,
    html_path: Path,
    markdown_path: Path | None,
    junit_path: Path | None,
    json_path: Path | None,
    max_examples: int,
    open_browser: bool,
) -> int:
    """Write the HTML report of a run (default: the latest), and optionally Markdown, JUnit and JSON."""
    from paritycheck.store import Store
    from paritycheck.summary import summarise

    written = _write_reports(
        db, run_id, html=html_path, markdown=markdown_path, junit=junit_path, max_examples=max_examples
    )
    if json_path is not None:
        with Store.open(db, create=False) as store:
            summary = summarise(store, run_id if run_id is not None else store.latest_run_id())
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
        written.append(json_path)
    err = _stderr()
    for path in written:
        err.print(f"wrote {path}")
    if open_browser:
        import webbrowser

        webbrowser.open(html_path.resolve().as_uri())
    return ExitStatus.OK


def _latest(store: Any, run_id: int | None) -> int:
    return run_id if run_id is not None else int(store.latest_run_id())


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@_config_option
@click.option(
    "--known",
    "known_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Accepted differences (default: gate.known_differences, known-differences.toml).",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the verdict as Markdown (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON on stdout.")
def gate(
    db: Path,
    run_id: int | None,
    config_file: Path | None,
    known_file: Path | None,
    markdown_path: Path | None,
    as_json: bool,
) -> int:
    """Judge a run (default: the latest) against the [gate] criteria: exit 0 pass, 1 fail, 2 usage."""
    from paritycheck import gate as gate_mod
    from paritycheck import known
    from paritycheck.report.gate_terminal import gate_markdown, print_gate
    from paritycheck.store import Store

    config = load_config(config_file)
    accepted = known.load(known_file or config.gate.known_differences, missing_ok=known_file is None)
    with Store.open(db, create=False) as store:
        result = gate_mod.evaluate(store, _latest(store, run_id), config.gate, known=accepted)
        gate_mod.record(store, result)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(gate_markdown(result) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        print_gate(result, _stdout())
    return int(result.exit_status)


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N runs.")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON on stdout.")
def history(db: Path, limit: int | None, config_file: Path | None, as_json: bool) -> int:
    """List runs over time: parity, failures, p95 ratios, and differences that are new or flaky."""
    from paritycheck.history import history as run_history
    from paritycheck.report.gate_terminal import print_history
    from paritycheck.store import Store

    config = load_config(config_file)
    with Store.open(db, create=False) as store:
        rows = run_history(store, min_samples=config.gate.min_samples, limit=limit)
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        print_history(rows, _stdout())
    return ExitStatus.OK


@cli.command(context_settings=CONTEXT)
@click.option("--endpoint", required=True, help="Endpoint pattern, e.g. 'GET /api/v1/users/{id}'.")
@click.option("--path", "diff_path", required=True, help="Difference path, e.g. '$.data.price' or 'status'.")
@click.option(
    "--kind", required=True, help="Difference kind (changed, type, added, removed, order, ...) or *."
)
@click.option("--reason", required=True, help="Why the difference is accepted, e.g. a ticket.")
@click.option("--until", required=True, help="Last day the acceptance holds (YYYY-MM-DD).")
@click.option(
    "--owner",
    default=lambda: os.environ.get("USER", "unknown"),
    show_default="$USER",
    help="Who answers for it.",
)
@click.option(
    "--known",
    "known_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Accepted differences file (default: gate.known_differences).",
)
@_config_option
def accept(
    endpoint: str,
    diff_path: str,
    kind: str,
    reason: str,
    until: str,
    owner: str,
    known_file: Path | None,
    config_file: Path | None,
) -> int:
    """Accept a difference group until a date: the gate shows it but does not fail on it."""
    from paritycheck import known

    target = known_file or Path(load_config(config_file).gate.known_differences)
    entry = known.new_acceptance(
        endpoint=endpoint, kind=kind, path=diff_path, reason=reason, owner=owner, until=until
    )
    accepted = known.append(target, entry)
    _stderr().print(f"accepted in {target} ({len(accepted.entries)} entries)")
    return ExitStatus.OK


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
@click.option("--json", "as_json", is_flag=True, help="Print the contract report as JSON on stdout.")
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
    as_json: bool,
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
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _stdout().print(report.to_table())
    return ExitStatus.OK if report.ok else ExitStatus.DIFFERENCES


@cli.command("noise", context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@click.option("--json", "as_json", is_flag=True, help="Print the noise paths as JSON on stdout.")
def noise_command(db: Path, run_id: int | None, as_json: bool) -> int:
    """List the paths a run (default: the latest) classed as noise, with the evidence (docs/noise.md)."""
    from paritycheck.noise import noise_paths
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:
        run = _latest(store, run_id)
        paths = noise_paths(store, run)
    if as_json:
        rows = [{"endpoint": p.endpoint, **p.to_json(), "raw": p.raw, "total": p.total} for p in paths]
        click.echo(json.dumps({"run_id": run, "noise": rows}, indent=2))
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
    from paritycheck.store import Store
    from paritycheck.suggest import config_of_run, suggest

    with Store.open(db, create=False) as store:
        run = _latest(store, run_id)
        config = load_config(config_file) if config_file else config_of_run(store.run(run))
        click.echo(suggest(store, run, config).to_toml(), nl=False)
    return ExitStatus.OK


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="paritycheck")


if __name__ == "__main__":  # pragma: no cover
    main()
