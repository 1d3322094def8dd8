"""``paritycheck proxy`` and ``paritycheck mirror``: the live listeners (docs/live.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paritycheck.cli.base import (
    CONTEXT,
    DEFAULT_HTML,
    _config_option,
    _db_option,
    _stderr,
    cli,
    load_config,
    override,
)
from paritycheck.common import aio
from paritycheck.config import MAX_CONCURRENCY
from paritycheck.errors import ExitStatus

if TYPE_CHECKING:
    from paritycheck.store import RunInfo

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_window(value: str) -> tuple[float, int]:
    """``15m`` / ``30s`` / ``1h`` → (seconds, 0); a bare number N → (0, N exchanges)."""
    if value.isdigit() and int(value) > 0:
        return 0.0, int(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh])", value.strip())
    if not match or float(match[1]) <= 0:
        raise click.BadParameter(f"{value!r} is neither a duration (15m, 30s, 1h) nor a number of exchanges")
    return float(match[1]) * _UNITS[match[2]], 0


def _options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options both listeners share."""
    options = [
        click.option("--listen", metavar="HOST:PORT", required=True, help="Where clients connect."),
        click.option("--legacy", metavar="URL", help="Legacy backend base URL (overrides [backends])."),
        click.option("--candidate", metavar="URL", help="Candidate backend base URL (overrides [backends])."),
        _config_option,
        _db_option,
        click.option("--admin", metavar="HOST:PORT", help="Serve /metrics and /status here."),
        click.option(
            "--queue",
            type=click.IntRange(min=1),
            default=1000,
            show_default=True,
            help="Shadows waiting at most; beyond, requests are dropped and counted.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1, MAX_CONCURRENCY),
            default=16,
            show_default=True,
            help="Shadows in flight.",
        ),
        click.option(
            "--sample",
            type=click.FloatRange(0, 100),
            default=100.0,
            show_default=True,
            metavar="PERCENT",
            help="Shadow this share of requests.",
        ),
        click.option(
            "--sample-key",
            metavar="header:NAME|cookie:NAME",
            help="Sample consistently per value of this header or cookie (e.g. a user id).",
        ),
        click.option("--max-rps", type=click.FloatRange(min=0), default=0.0, help="Cap shadows per second."),
        click.option("--allow-writes", is_flag=True, default=None, help="Also shadow writes."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Per request, s."),
        click.option(
            "--window",
            default="15m",
            show_default=True,
            metavar="DURATION|N",
            help="Close a run every DURATION (15m, 30s) or every N exchanges.",
        ),
        click.option(
            "--drain",
            type=click.FloatRange(min=0),
            default=10.0,
            show_default=True,
            help="On SIGTERM, seconds to finish queued shadows (SIGINT: a tenth).",
        ),
        click.option(
            "--record",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE.har|.jsonl",
            help="Write the live exchanges as a capture that replay reads (secrets redacted).",
        ),
        click.option("--no-report", is_flag=True, help=f"Do not rewrite {DEFAULT_HTML}."),
        click.option(
            "--shadow-in-process",
            is_flag=True,
            hidden=True,  # for bench/live.py's same-run comparison; the helper process is the default
            help="Run the shadow path on the listener's own event loop instead of a helper process.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run(mode: str, **kw: Any) -> int:
    from paritycheck.live import LiveOptions, LiveServer, serve

    config = override(
        load_config(kw["config_file"]),
        legacy=kw["legacy"],
        candidate=kw["candidate"],
        timeout=kw["timeout"],
        allow_writes=kw["allow_writes"],
    )
    seconds, exchanges = parse_window(kw["window"])
    options = LiveOptions(
        mode=mode,
        listen=kw["listen"],
        db=kw["db"],
        admin=kw["admin"],
        queue=kw["queue"],
        workers=kw["workers"],
        sample=kw["sample"],
        sample_key=kw["sample_key"],
        max_rps=kw["max_rps"],
        window_seconds=seconds,
        window_exchanges=exchanges,
        html=None if kw["no_report"] else DEFAULT_HTML,
        drain=kw["drain"],
        record=kw["record"],
        shadow_in_child=not kw["shadow_in_process"],
    )
    err = _stderr()

    def ready(server: LiveServer) -> None:
        admin = f", admin on {server.admin_at[0]}:{server.admin_port}" if server.admin_at else ""
        err.print(f"{mode}: listening on {server.listen[0]}:{server.port}{admin}; SIGTERM or Ctrl-C to stop")

    server = aio.run(serve(config, options, ready=ready))
    t = server.metrics.totals
    err.print(
        f"{mode}: stopped; {t.seen} seen = {t.shadowed} shadowed ({t.matched} matched, {t.mismatched}"
        f" mismatched, {t.failed} failed as compared when shadowed) + {t.skipped} skipped + {t.dropped}"
        f" dropped; runs {', '.join(map(str, server.closed)) or 'none'}{_stored(server.closed_runs())}"
    )
    return ExitStatus.OK


def _stored(runs: list[RunInfo]) -> str:
    """The windows' runs as reports read them: with the noise each window learned classed."""
    if not runs:
        return ""
    matched, mismatched = sum(r.matched for r in runs), sum(r.mismatched for r in runs)
    return f" ({matched} matched, {mismatched} mismatched once each window's noise was classed)"


@cli.command(context_settings=CONTEXT)
@_options
def proxy(**kw: Any) -> int:
    """Sit in front of the legacy: answer each client with its reply, shadow a copy to the candidate.

    Each window (--window) is stored as an ordinary run that report, gate and history read.
    Exit status: 0 stopped cleanly (SIGTERM/SIGINT), 2 usage or config error.
    """
    return _run("proxy", **kw)


@cli.command(context_settings=CONTEXT)
@_options
def mirror(**kw: Any) -> int:
    """Receive mirrored copies (Envoy, Istio, nginx, GoReplay): answer 200 at once, replay to both backends.

    Exit status: 0 stopped cleanly (SIGTERM/SIGINT), 2 usage or config error.
    """
    return _run("mirror", **kw)


__all__ = ["mirror", "parse_window", "proxy"]
