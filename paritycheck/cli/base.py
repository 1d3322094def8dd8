"""The command group, the shared options and the exit-status mapping of every command."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from paritycheck import config as config_mod
from paritycheck.common.urls import backend_url_problem, shown_url
from paritycheck.config import Config
from paritycheck.errors import ConfigError, ExitStatus, ParitycheckError

_F = TypeVar("_F", bound=Callable[..., Any])
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
            problem = backend_url_problem(url)
            if problem:
                raise click.BadParameter(f"{shown_url(url)!r} {problem}", param_hint=f"'--{side}'")
            backends = dataclasses.replace(
                backends, **{side: dataclasses.replace(getattr(backends, side), url=url)}
            )
    replay_opts = {k: v for k, v in options.items() if v not in (None, ())}
    if "include" in replay_opts:
        replay_opts["include"] = tuple(replay_opts["include"])
    for name in ("exclude", "hosts"):
        if name in replay_opts:
            replay_opts[name] = tuple(replay_opts[name])
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


class _JsonTarget(_ParamType):
    """Where ``--json`` writes: ``-`` (stdout, also the bare flag) or a file whose name ends with .json.

    The suffix is required because ``--json`` takes an optional value: ``replay --json capture.har``
    would otherwise write JSON over the capture. It is refused instead, naming the fix.
    """

    name = "FILE.json|-"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "-" or isinstance(value, Path):
            return value
        text = str(value)
        if not text.lower().endswith(".json"):
            self.fail(
                f"{text!r} is not a .json file or -: write --json alone (stdout), --json - or --json"
                " FILE.json, after the command's other arguments",
                param,
                ctx,
            )
        return Path(text)


JSON_HELP = "on stdout (--json, or --json -), or into FILE.json"


def json_option(what: str) -> Callable[[_F], _F]:
    """``--json [FILE.json|-]``: ``what`` as JSON on stdout, or written to a file (one convention for all)."""
    return click.option(
        "--json",
        "json_to",
        type=_JsonTarget(),
        is_flag=False,
        flag_value="-",
        default=None,
        metavar="[FILE.json|-]",
        help=f"{what} as JSON: {JSON_HELP}.",
    )


def emit_json(json_to: Path | str, data: Any) -> None:
    """Write ``data`` as JSON where ``--json`` said: stdout for ``-``, else the file (said on stderr)."""
    import json

    text = json.dumps(data, indent=2)
    if json_to == "-":
        click.echo(text)
        return
    path = Path(json_to)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    _stderr().print(f"wrote {path}", highlight=False)


def _latest(store: Any, run_id: int | None) -> int:
    return run_id if run_id is not None else int(store.latest_run_id())


_run_name_option = click.option(
    "--run-name",
    metavar="NAME",
    help="The run called NAME (replay --run-name: a sharded run) instead of the latest.",
)


def named_run(db: Any, run_id: int | None, run_name: str | None) -> int | None:
    """``--run ID`` or ``--run-name NAME`` (not both) as a run id; None (the latest run) for neither."""
    if run_name is None:
        return run_id
    if run_id is not None:
        raise click.UsageError("--run and --run-name cannot be combined: name one run")
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:
        found = store.run_id_named(run_name)
    if found is None:
        raise ConfigError(
            f"no run is named {run_name!r} in the store",
            hint="paritycheck history lists the runs; a name is given by replay --shard I/N --run-name NAME",
        )
    return found


def interrupt_status(exc: KeyboardInterrupt) -> ExitStatus:
    """130 for Ctrl-C, 143 for SIGTERM (which :func:`paritycheck.common.aio.run` turns into Terminated)."""
    from paritycheck.common.aio import Terminated

    return ExitStatus.TERMINATED if isinstance(exc, Terminated) else ExitStatus.INTERRUPTED
