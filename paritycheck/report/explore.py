"""The terminal view of an explore run: what was generated, the coverage, and the findings."""

from __future__ import annotations

from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from paritycheck.common.text import plural

if TYPE_CHECKING:
    from paritycheck.explore import ExploreResult

#: Findings shown in the terminal; the JSON and the stored run have them all.
TOP = 10


class OperationProgress:
    """Operations generated out of the total, on stderr when it is a terminal (called from a thread)."""

    def __init__(self, console: Console) -> None:
        self._bar: Progress | None = None
        self._task: object = None
        if console.is_terminal:
            self._bar = Progress(
                TextColumn("generating {task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            )

    def __enter__(self) -> OperationProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("", total=None)
        return self

    def advance(self, operation: str, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, description=operation)  # type: ignore[arg-type]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _statuses(counts: dict[int, int]) -> str:
    return ", ".join(f"{s}×{n}" for s, n in sorted(counts.items())) or "-"


def source_text(source: str, missing: tuple[str, ...] | list[str], reason: str) -> str:
    """``capture + generated for 401, 404``, ``never: unsafe method ...``: where, and why."""
    if source == "capture+generated":
        return "capture + generated for " + ", ".join(missing) if missing else "capture + generated"
    if source == "never" and reason:
        return f"never: {reason}"
    return source


def print_explore(result: ExploreResult, *, out: Console) -> None:
    """Coverage per operation, then the differing generated requests, refusals accepted first."""
    plan = result.plan
    kinds = Counter(r.kind for r in plan.requests)
    out.print(
        f"\ngenerated from {result.spec}, seed {result.seed}: {plural(len(plan.requests), 'request')}"
        f" for {plural(len(plan.operations), 'operation')} ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f"); capture: {result.capture}"
    )
    for operation, why in plan.skipped.items():
        out.print(Text(f"  not generated: {operation}: {why}", style="dim"))
    if result.run.status == "unreachable":
        out.print(Text("no verdict: a backend answered none of the generated requests", style="bold yellow"))
    table = Table(title="coverage", title_justify="left")
    table.add_column("operation", overflow="fold")
    table.add_column("exercised by", overflow="fold")
    table.add_column("seen before")
    table.add_column("legacy statuses")
    table.add_column("candidate statuses")
    for c in result.coverage:
        style = "yellow" if c.source == "never" else None
        table.add_row(
            c.operation, source_text(c.source, c.missing, c.reason), ", ".join(map(str, c.seen)) or "-",
            _statuses(c.legacy), _statuses(c.candidate), style=style,
        )  # fmt: skip
    out.print(table)
    accepts = [f for f in result.findings if f.accepts_refused]
    if accepts:
        out.print(
            Text(
                f"candidate accepts what legacy refused: {plural(len(accepts), 'request')}"
                " (a missing validation or authorisation check?)",
                style="bold red",
            )
        )
    if result.findings:
        findings = Table(title="differing generated requests", title_justify="left")
        findings.add_column("probe")
        findings.add_column("request", overflow="fold")
        findings.add_column("legacy → candidate", no_wrap=True)
        for f in result.findings[:TOP]:
            mark = " ⚠" if f.accepts_refused else ""
            findings.add_row(
                f"{f.kind}: {f.description}",
                f"{f.method} {f.target}",
                f"{f.legacy_status} → {f.candidate_status}{mark}",
            )
        out.print(findings)
        if len(result.findings) > TOP:
            out.print(f"  … and {len(result.findings) - TOP} more (--json, or the HTML report)")
    if result.saved is not None:
        out.print(f"saved {plural(len(result.findings), 'differing request')} as a capture: {result.saved}")
