"""``rollout start`` and ``rollout status``: the steps of a traffic shift (docs/rollout.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paritycheck.cli.base import CONTEXT, _config_option, _db_option, _stderr, _stdout, cli, load_config
from paritycheck.common.durations import parse_duration
from paritycheck.errors import ExitStatus

if TYPE_CHECKING:
    from paritycheck.config import Config
    from paritycheck.rollout import RolloutVerdict
    from paritycheck.store import Store


@cli.group(context_settings=CONTEXT)
def rollout() -> None:
    """Step a traffic shift to the candidate: record each step, and judge whether it may go on.

    Steps and their criteria are [[rollout.step]] in paritycheck.toml (docs/rollout.md).
    """


@rollout.command("start", context_settings=CONTEXT)
@click.argument("step")
@_db_option
@_config_option
@click.option("--at", "started", metavar="ISO-8601", help="When the step began (default: now).")
def start_command(step: str, db: Path, config_file: Path | None, started: str | None) -> int:
    """Record that STEP began: its number (1, 2, …), its share (25%) or its name.

    Call it when the traffic moved; `rollout status` judges everything since. Exit status: 0, or 2 when
    there is no such step.
    """
    from paritycheck.report import print_step_started
    from paritycheck.rollout import start_step
    from paritycheck.store import Store

    config = load_config(config_file)
    if started is not None:
        started = _instant(started)
    with Store.open(db) as store:
        record = start_step(store, config, step, started=started)
    print_step_started(record, _stderr())
    return ExitStatus.OK


def _instant(text: str) -> str:
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="'--at'") from None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds")


def _judge_once(
    db: Path, config: Config, *, logs: list[Path] | None, known_file: Path | None, step: int | None
) -> RolloutVerdict:
    from paritycheck.gate import accepted as known
    from paritycheck.rollout import judge, record
    from paritycheck.store import Store

    accepted = known.load(known_file or config.gate.known_differences, missing_ok=known_file is None)
    with Store.open(db, create=step is not None) as store:  # --step records: like rollout start
        if step is not None:
            _follow(store, config, step)
        verdict = judge(store, config, logs=logs, known=accepted)
        record(store, verdict)
    return verdict


def _follow(store: Store, config: Config, step: int) -> None:
    """The controller says it is at ``step``: record that step's start the first time it is heard of."""
    from paritycheck.rollout import start_step

    now = store.current_step()
    if now is None or now.step != step:
        start_step(store, config, str(step), source={"by": "rollout status --step"})


@rollout.command("status", context_settings=CONTEXT)
@_db_option
@_config_option
@click.option(
    "--access-log",
    "logs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Access log of split traffic (nginx JSON, Envoy/Istio JSON); repeat for several"
    "  [default: [rollout.cohorts] logs].",
)
@click.option(
    "--known",
    "known_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Accepted differences (default: gate.known_differences).",
)
@click.option(
    "--step",
    type=click.IntRange(min=1),
    help="The step the controller is at: it is recorded as begun if it is not the current one.",
)
@click.option("--wait", is_flag=True, help="Judge again every --poll until the answer is not hold.")
@click.option("--poll", default="60s", show_default=True, metavar="DURATION", help="With --wait: how often.")
@click.option("--timeout", metavar="DURATION", help="With --wait: give up (hold, 75) after this long.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON on stdout.")
def status_command(
    db: Path,
    config_file: Path | None,
    logs: tuple[Path, ...],
    known_file: Path | None,
    step: int | None,
    wait: bool,
    poll: str,
    timeout: str | None,
    as_json: bool,
) -> int:
    """Judge everything since the current step began against that step's criteria.

    Exit status: 0 advance, 75 hold (time, samples or a criterion still missing: ask again later),
    1 roll back (a [rollout.rollback] trigger fired), 2 usage or configuration error.
    """
    from paritycheck.report import print_rollout
    from paritycheck.rollout import HOLD

    config = load_config(config_file)
    every = _seconds(poll, "--poll")
    deadline = None if timeout is None else time.monotonic() + _seconds(timeout, "--timeout")
    while True:
        verdict = _judge_once(db, config, logs=list(logs) or None, known_file=known_file, step=step)
        if not wait or verdict.decision != HOLD or (deadline is not None and time.monotonic() >= deadline):
            break
        _stderr().print(verdict.headline, markup=False, soft_wrap=True)
        time.sleep(every if deadline is None else max(0.0, min(every, deadline - time.monotonic())))
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        print_rollout(verdict, _stdout())
    return int(verdict.exit_status)


def _seconds(text: str, option: str) -> float:
    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise click.BadParameter(
            f"{text!r} is not a duration such as 30s, 15m or 1h", param_hint=f"'{option}'"
        )
    return seconds
