"""``report``, ``gate``, ``history`` and ``accept``: read a stored run and judge it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from paritycheck.cli.base import (
    CONTEXT,
    DEFAULT_HTML,
    _config_option,
    _db_option,
    _latest,
    _run_name_option,
    _stderr,
    _stdout,
    _write_reports,
    cli,
    emit_json,
    json_option,
    load_config,
    named_run,
)
from paritycheck.cli.shards import warn_incomplete
from paritycheck.errors import ExitStatus


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@_run_name_option
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
@json_option("The run summary (the schema of replay --json)")
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
    run_name: str | None,
    html_path: Path,
    markdown_path: Path | None,
    junit_path: Path | None,
    json_to: Path | str | None,
    max_examples: int,
    open_browser: bool,
) -> int:
    """Write the HTML report of a run (default: the latest), and optionally Markdown, JUnit and JSON."""
    from paritycheck.gate import summarise
    from paritycheck.store import Store

    run_id = named_run(db, run_id, run_name)
    written = _write_reports(
        db, run_id, html=html_path, markdown=markdown_path, junit=junit_path, max_examples=max_examples
    )
    if json_to is not None:
        with Store.open(db, create=False) as store:
            summary = summarise(store, run_id if run_id is not None else store.latest_run_id())
        emit_json(json_to, summary.to_json())
    err = _stderr()
    for path in written:
        err.print(f"wrote {path}")
    warn_incomplete(db, run_id, err)
    if open_browser:
        _open(html_path, err)
    return ExitStatus.OK


def _open(html: Path, err: Console) -> None:
    """Open ``html`` in the default browser, or say there is none (the report is written either way)."""
    import webbrowser

    uri = html.resolve().as_uri()
    try:
        opened = webbrowser.open(uri)
    except webbrowser.Error:
        opened = False
    if not opened:
        err.print(f"warning: no browser could be opened; open {uri} yourself", soft_wrap=True)


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--run", "run_id", type=int, help="Run id (default: the latest run).")
@_run_name_option
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
@click.option(
    "--since",
    help="Judge every run that started in this period together (24h, 90m, 7d, or a UTC date/time).",
)
@json_option("The verdict")
def gate(
    db: Path,
    run_id: int | None,
    run_name: str | None,
    since: str | None,
    config_file: Path | None,
    known_file: Path | None,
    markdown_path: Path | None,
    json_to: Path | str | None,
) -> int:
    """Judge a run (default: the latest) against the [gate] criteria: exit 0 pass, 1 fail, 2 usage.

    With --since, the runs of the period (live windows) are judged together as one.
    """
    from paritycheck.gate import accepted as known
    from paritycheck.gate import criteria as gate_mod
    from paritycheck.gate import evaluate_runs, parse_since, runs_since
    from paritycheck.report import gate_markdown, print_gate
    from paritycheck.store import Store

    if since is not None and (run_id is not None or run_name is not None):
        raise click.UsageError("--since cannot be combined with --run or --run-name: one run, or a period")
    run_id = named_run(db, run_id, run_name)
    start = None if since is None else parse_since(since)
    config = load_config(config_file)
    accepted = known.load(
        known_file or config.gate.known_differences, missing_ok=known_file is None, normalise=config.normalise
    )
    with Store.open(db, create=False) as store:
        if start is None:
            result = gate_mod.evaluate(store, _latest(store, run_id), config.gate, known=accepted)
            gate_mod.record(store, result)
        else:
            period = runs_since(store, start)
            label = period.label
            if period.running:
                label += f"; {len(period.running)} still running, not judged"
            result = evaluate_runs(store, period.run_ids, config.gate, known=accepted, period=label)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(gate_markdown(result) + "\n", encoding="utf-8")
    if json_to != "-":
        print_gate(result, _stdout())
    if json_to is not None:
        emit_json(json_to, result.to_json())
    return int(result.exit_status)


@cli.command(context_settings=CONTEXT)
@_db_option
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N runs.")
@_config_option
@json_option("The history")
def history(db: Path, limit: int | None, config_file: Path | None, json_to: Path | str | None) -> int:
    """List runs over time: parity, failures, p95 ratios, and differences that are new or flaky."""
    from paritycheck.gate.history import history as run_history
    from paritycheck.report import print_history
    from paritycheck.store import Store

    config = load_config(config_file)
    with Store.open(db, create=False) as store:
        rows = run_history(store, min_samples=config.gate.min_samples, limit=limit)
    if json_to != "-":
        print_history(rows, _stdout())
    if json_to is not None:
        emit_json(json_to, [row.to_json() for row in rows])
    return ExitStatus.OK


@cli.command(context_settings=CONTEXT)
@click.option(
    "--finding",
    help="A finding's signature, e.g. 'type null→string' (the report's accept line): all its groups.",
)
@click.option(
    "--endpoint", help="Endpoint pattern, e.g. 'GET /api/v1/users/{id}' (with --finding: only there)."
)
@click.option("--path", "diff_path", help="Difference path, e.g. '$.data.price' or 'status'.")
@click.option("--kind", help="Difference kind (changed, type, added, removed, order, ...) or *.")
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
@_db_option
def accept(
    finding: str | None,
    endpoint: str | None,
    diff_path: str | None,
    kind: str | None,
    reason: str,
    until: str,
    owner: str,
    known_file: Path | None,
    config_file: Path | None,
    db: Path | str,
) -> int:
    """Accept a finding (--finding) or one difference group (--endpoint, --kind, --path) until a date:
    the gate shows it but does not fail on it.

    --path takes the path as reports print it (the wire's, e.g. '$.data.price') or the normalised one
    ('$.price'). A warning says when the entry matches no difference (or finding) of the latest run in --db.
    """
    from paritycheck.gate import accepted as known

    if finding is not None and (kind is not None or diff_path is not None):
        raise click.UsageError("--finding accepts a whole finding: leave out --kind and --path")
    config = load_config(config_file)
    target = known_file or Path(config.gate.known_differences)
    entry = known.new_acceptance(
        endpoint=endpoint, kind=kind, path=diff_path, reason=reason, owner=owner, until=until, finding=finding
    )
    accepted = known.append(target, entry)
    err = _stderr()
    err.print(f"accepted in {target} ({len(accepted.entries)} entries)")
    why = _unmatched(
        db, dataclasses.replace(entry, forms=known.normalised_forms(entry.path, config.normalise))
    )
    if why is not None:
        err.print(f"warning: {why}: check --endpoint, --kind and --path", soft_wrap=True, markup=False)
    return ExitStatus.OK


def _unmatched(db: Path | str, entry: Any) -> str | None:
    """Why ``entry`` matches nothing in the latest run of ``db`` (None: it matches, or there is no run)."""
    from paritycheck.errors import StoreError
    from paritycheck.gate.criteria import unmatched
    from paritycheck.store import Store

    if isinstance(db, Path) and not db.exists():
        return None
    try:
        with Store.open(db, create=False) as store:
            run_id = store.latest_run_id()
            return unmatched(store, run_id, entry)
    except StoreError:  # no run to check against
        return None
