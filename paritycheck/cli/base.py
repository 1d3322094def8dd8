"""The command group, the shared options and the exit-status mapping of every command."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from paritycheck import config as config_mod
from paritycheck.common.secrets import shown_url
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
            # Messages name config sections and JSONPaths ("[auth]", "$.items[0]"): text, not markup.
            message = escape(exc.message)
            err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
            if exc.hint:
                err.print(f"[dim]hint:[/] {escape(exc.hint)}", soft_wrap=True)
            if ctx.params.get("traceback"):
                raise
            ctx.exit(int(exc.exit_status))
        except KeyboardInterrupt as exc:
            _stderr().print("interrupted")
            ctx.exit(int(interrupt_status(exc)))
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
            problem = config_mod.backend_url_problem(url)
            if problem:
                raise click.BadParameter(f"{shown_url(url)!r} {problem}", param_hint=f"'--{side}'")
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
    from paritycheck.report import write_reports
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


if TYPE_CHECKING:  # generic only from click 8.5 on; pyproject allows 8.1
    _ParamType = click.ParamType[Any, Any]
else:
    _ParamType = click.ParamType


class _DbLocation(_ParamType):
    """A SQLite file path, or a ``postgresql://`` DSN kept as the string it is (a Path would mangle it)."""

    name = "PATH|DSN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            return value
        return click.Path(dir_okay=False, path_type=Path).convert(value, param, ctx)


_db_option = click.option(
    "--db",
    type=_DbLocation(),
    default=config_mod.DEFAULT_DB,
    show_default=True,
    envvar="PARITYCHECK_DB",
    help="Results database: a SQLite file, or a PostgreSQL DSN (postgresql://user:pass@host/db).",
)
_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: ./paritycheck.toml, else [tool.paritycheck] in ./pyproject.toml).",
)


def _latest(store: Any, run_id: int | None) -> int:
    return run_id if run_id is not None else int(store.latest_run_id())


def interrupt_status(exc: KeyboardInterrupt) -> ExitStatus:
    """130 for Ctrl-C, 143 for SIGTERM (which :func:`paritycheck.common.aio.run` turns into Terminated)."""
    from paritycheck.common.aio import Terminated

    return ExitStatus.TERMINATED if isinstance(exc, Terminated) else ExitStatus.INTERRUPTED
