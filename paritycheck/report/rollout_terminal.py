"""``rollout status`` in the terminal: the decision first, then what is missing or what fired, the
criteria that decide, the cohorts and the evidence."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from paritycheck.common.durations import format_duration
from paritycheck.common.text import plural
from paritycheck.gate import PASS, RUN, Criterion
from paritycheck.report.gate_terminal import interval_text, measured_text, threshold_text
from paritycheck.rollout import ADVANCE, ALL, HOLD, CanaryResult, RolloutVerdict
from paritycheck.store import StepRecord

__all__ = ["print_rollout", "print_step_started"]

_STYLE = {ADVANCE: "bold green", HOLD: "bold yellow"}


def _criteria_table(rows: list[Criterion]) -> Table:
    table = Table(title="criteria", title_justify="left")
    for name, justify in (("", "left"), ("criterion", "left"), ("measured", "right"), ("limit", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("interval", justify="right")
    table.add_column("note", overflow="fold")
    for c in rows:
        mark = "✓" if c.passed else "✗"
        name = f"{c.name} ({c.endpoint})" if c.endpoint else c.name
        style = "" if c.passed else "red"
        table.add_row(mark, name, measured_text(c), threshold_text(c), interval_text(c), c.note, style=style)
    return table


def _canary_table(canary: CanaryResult) -> Table:
    title = (
        f"cohorts: {canary.verdict} ({canary.candidate_requests:,} candidate requests,"
        f" {canary.legacy_requests:,} legacy; candidate share {100 * canary.candidate_share:.1f}%)"
    )
    table = Table(title=title, title_justify="left")
    for name in ("endpoint", "metric", "legacy", "candidate", "p (Holm)", "verdict", "note"):
        table.add_column(name, overflow="fold")
    rows = [m for m in canary.metrics if m.endpoint == ALL or m.verdict not in (PASS, "nodata")]
    for m in rows[:30]:
        legacy = "-" if m.legacy is None else f"{m.legacy:.3g} {m.unit}"
        candidate = "-" if m.candidate is None else f"{m.candidate:.3g} {m.unit}"
        p = "-" if m.p_adjusted is None else f"{m.p_adjusted:.2g}"
        table.add_row(m.endpoint, m.name, legacy, candidate, p, m.verdict, m.note)
    return table


def print_rollout(verdict: RolloutVerdict, console: Console) -> None:
    """The verdict, what decides it, and the evidence."""
    style = _STYLE.get(verdict.decision, "bold red")
    console.print(verdict.headline, style=style, soft_wrap=True, markup=False)
    for m in verdict.missing:
        console.print(f"  missing {m.what}: {m.detail}", soft_wrap=True, markup=False)
    for f in verdict.fired:
        console.print(f"  rollback trigger: {f.describe()}", style="red", soft_wrap=True, markup=False)
    for f in verdict.pages:
        console.print(f"  page: {f.describe()}", style="yellow", soft_wrap=True, markup=False)
    runs = plural(len(verdict.runs), "run")
    console.print(
        f"step {verdict.step} ({verdict.label}, {verdict.share:g}% of traffic) began {verdict.started},"
        f" {format_duration(verdict.elapsed)} ago; evidence: {runs}, {verdict.exchanges:,} exchanges,"
        f" {verdict.cohort_requests:,} cohort requests",
        soft_wrap=True,
        markup=False,
    )
    shown = [c for c in verdict.criteria if c.scope == RUN or c.state != PASS]
    if shown:
        console.print(_criteria_table(shown))
    if verdict.canary is not None:
        console.print(_canary_table(verdict.canary))
    for note in verdict.notes:
        console.print(f"note: {note}", style="dim", soft_wrap=True, markup=False)
    console.print(f"exit status {int(verdict.exit_status)} ({verdict.decision})", style="dim")


def print_step_started(record: StepRecord, console: Console) -> None:
    """``step 2 (25%) began at …`` and what the step demands."""
    plan = record.plan
    demands = ", ".join(
        f"{key} {value}" for key, value in plan.items() if value not in (None, {}, 0, "0s") and key != "share"
    )
    console.print(
        f"step {record.step} ({record.label}, {record.share:g}% of traffic) began at {record.started}",
        markup=False,
    )
    if demands:
        console.print(f"it demands: {demands}", soft_wrap=True, markup=False)
