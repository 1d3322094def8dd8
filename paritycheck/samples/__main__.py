"""``python -m paritycheck.samples serve|demo``: run the two demo backends, optionally with a replay.

``serve`` runs both until SIGINT/SIGTERM. ``demo`` runs them on free ports, replays the committed
capture against them with ``python -m paritycheck replay`` and stops them again (``make demo``).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from paritycheck.errors import BackendError, ConfigError, ExitStatus, ParitycheckError
from paritycheck.samples import data

if TYPE_CHECKING:
    from paritycheck.samples import Samples

#: What ``demo`` runs when no command follows ``--``. Writes are allowed: the targets are the two sample
#: backends this command has just started on free ports, fresh, and stops afterwards (docs/demo.md).
DEMO_COMMAND = (
    "replay", "captures/auth.har", "captures/streams.har",
    "--legacy", "{legacy}", "--candidate", "{candidate}", "--allow-writes",
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paritycheck.samples", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the legacy and candidate samples until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--legacy-port", type=int, default=5000, help="0 picks a free port (default 5000)")
    serve.add_argument("--candidate-port", type=int, default=8000, help="0 picks a free port (default 8000)")
    serve.add_argument("--ready-file", type=Path, help="write the two URLs there as JSON once listening")
    serve.add_argument(
        "--summary-delay",
        type=float,
        default=data.SUMMARY_DELAY_S,
        help=f"extra seconds the candidate's summary report takes (default {data.SUMMARY_DELAY_S})",
    )
    reset = sub.add_parser("reset", help="forget the accounts, projects and comments a session created")
    reset.add_argument(
        "url",
        nargs="?",
        default=os.environ.get("PARITYCHECK_BACKEND_URL"),
        help="a sample backend's base URL (default: $PARITYCHECK_BACKEND_URL, set by paritycheck for resets)",
    )
    demo = sub.add_parser("demo", help="serve on free ports and replay the demo captures against them")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    demo.add_argument(
        "paritycheck_args",
        nargs=argparse.REMAINDER,
        help=f"after --: arguments for python -m paritycheck (default: {' '.join(DEMO_COMMAND)})",
    )
    live = sub.add_parser("demo-live", help="the demo session through paritycheck proxy")
    live.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    return parser


async def _start(host: str, legacy_port: int, candidate_port: int, *, summary_delay: float) -> Samples:
    from paritycheck.samples import start

    try:
        return await start(host, legacy_port, candidate_port, summary_delay=summary_delay)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise BackendError(
                f"cannot listen on {host} port {legacy_port} or {candidate_port}: address already in use",
                hint="stop what uses the port, or pass --legacy-port 0 / --candidate-port 0 for free ports",
            ) from None
        raise BackendError(f"cannot listen on {host}: {exc.strerror or exc}", hint="check --host") from None


def _write_ready(path: Path, samples: Samples) -> None:
    # Written then renamed, so a script polling for the file never reads half of it.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"legacy": samples.legacy_url, "candidate": samples.candidate_url}) + "\n")
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(
    host: str, legacy_port: int, candidate_port: int, *, ready_file: Path | None, summary_delay: float
) -> int:
    """Serve both samples until SIGINT or SIGTERM; return the exit status."""
    if ready_file is not None:
        # A stale file from an earlier run must not look like this run being ready.
        _remove(ready_file)
    stop = _stop_event()
    samples = await _start(host, legacy_port, candidate_port, summary_delay=summary_delay)
    try:
        print(f"legacy on {samples.legacy_url}, candidate on {samples.candidate_url}", flush=True)
        if ready_file is not None:
            _write_ready(ready_file, samples)
        await stop.wait()
    finally:
        await samples.close()
        if ready_file is not None:
            _remove(ready_file)
    print("stopped", file=sys.stderr, flush=True)
    return ExitStatus.OK


async def demo(host: str, args: Sequence[str]) -> int:
    """Serve on free ports, run ``python -m paritycheck ARGS`` against them, stop; return its status.

    ``{legacy}`` and ``{candidate}`` in ARGS are replaced by the two base URLs.
    """
    samples = await _start(host, 0, 0, summary_delay=data.SUMMARY_DELAY_S)
    try:
        print(f"legacy on {samples.legacy_url}, candidate on {samples.candidate_url}", flush=True)
        urls = {"legacy": samples.legacy_url, "candidate": samples.candidate_url}
        command = [sys.executable, "-m", "paritycheck", *(a.format_map(urls) for a in (args or DEMO_COMMAND))]
        print("$ " + " ".join(["python", *command[1:]]), flush=True)
        process = await asyncio.create_subprocess_exec(*command)
        status = await process.wait()
    finally:
        await samples.close()
    if args or status != ExitStatus.DIFFERENCES:
        return status
    # The default demo is meant to find the seeded differences: that is its success, not a failure.
    print(
        "\nThe demo found differences, as seeded (docs/demo.md lists them). Next:\n"
        "  paritycheck report --open    the HTML report of this run (reports/index.html)\n"
        "  paritycheck suggest          rules that clear the false mismatches, leaving the real bugs\n"
        "  paritycheck gate             the rollout verdict on the [gate] criteria",
        flush=True,
    )
    return ExitStatus.OK


def _demo_live(host: str) -> int:
    """``demo-live``: the session through the proxy; print the window's totals and where its report is."""
    from paritycheck.samples.live_demo import demo_live

    server = asyncio.run(demo_live(host=host))
    t = server.metrics.totals
    print(f"{t.seen} requests: {t.shadowed} shadowed, {t.skipped} skipped, {t.dropped} dropped", flush=True)
    runs = server.closed_runs()  # as its report shows it: the noise it learned is classed by then
    if runs:
        run = runs[-1]
        print(
            f"window (run {run.id}): {run.matched} matched, {run.mismatched} mismatched, {run.failed} failed,"
            f" {run.skipped} skipped (as compared when shadowed: {t.matched} matched, {t.mismatched}"
            " mismatched; the rest differed only in the noise the window learned)",
            flush=True,
        )
    print(
        "  paritycheck report --open    the report of this window (reports/index.html)\n"
        "  paritycheck gate             the rollout verdict on it",
        flush=True,
    )
    return ExitStatus.OK


def reset(url: str | None) -> int:
    """POST the sample's reset route; the ``reset`` command of a demo ``[backends.*]`` (docs/sessions.md)."""
    if not url:
        raise ConfigError("no backend URL to reset", hint="pass the URL, or set PARITYCHECK_BACKEND_URL")
    # The standard library's client: this command may run before every replay of a session, and
    # httpx and the web server cost it ~0.3 s of CPU at start for one request.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url.rstrip("/") + "/api/v1/_admin/reset", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out; a URL it cannot use
        raise BackendError(
            f"cannot reset {url}: {getattr(exc, 'reason', exc)}", hint="is the sample backend running there?"
        ) from None
    if status != 204:
        raise BackendError(f"{url} answered {status} to the reset", hint="is it a sample backend?")
    print(f"reset {url}")
    return ExitStatus.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    options = _parser().parse_args(argv)
    try:
        if options.command == "serve":
            return asyncio.run(
                serve(
                    options.host,
                    options.legacy_port,
                    options.candidate_port,
                    ready_file=options.ready_file,
                    summary_delay=options.summary_delay,
                )
            )
        if options.command == "reset":
            return reset(options.url)
        if options.command == "demo-live":
            return _demo_live(options.host)
        extra = list(options.paritycheck_args)
        if extra[:1] == ["--"]:
            extra = extra[1:]
        return asyncio.run(demo(options.host, extra))
    except ParitycheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
