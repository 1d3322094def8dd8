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
    if dry_run:
        return terminal.print_dry_run(runner.dry_run(config, list(captures)), config, out=out)
    with terminal.Progress(err) as progress:
        try:
            result = aio.run(
                runner.replay_captures(config, list(captures), db=db, on_outcome=progress.advance)
            )
        except KeyboardInterrupt:
            progress.stop()
            terminal.print_interrupted(db, err=err)
            return ExitStatus.INTERRUPTED
    if as_json:
        click.echo(json.dumps(result.summary.to_json(), indent=2))
    else:
        terminal.print_summary(result.summary, out=out)
    if result.summary.total - result.summary.skipped == 0:
        err.print("warning: nothing was replayed; every exchange was skipped (see the reasons above)")
    return ExitStatus.OK if result.at_parity else ExitStatus.DIFFERENCES


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="paritycheck")


if __name__ == "__main__":  # pragma: no cover
    main()
