"""Gate and history output: rich tables for the terminal, and the gate section of the Markdown report."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from paritycheck.common.text import plural
from paritycheck.gate import (
    FAIL,
    INCONCLUSIVE,
    NOT_JUDGED,
    PASS,
    RUN,
    Criterion,
    GateResult,
    GroupKey,
    RunHistory,
    format_value,
)

__all__ = ["gate_markdown", "interval_text", "measured_text", "print_gate", "print_history", "threshold_text"]

_STYLE = {PASS: "green", FAIL: "bold red", INCONCLUSIVE: "yellow"}


def measured_text(c: Criterion) -> str:
    """The measured value with its unit, or ``-``."""
    return "-" if c.measured is None else format_value(c.measured, c.unit)


def threshold_text(c: Criterion) -> str:
    """``≥ 99.9%``, ``≤ 1.100×``, or ``-``."""
    if c.threshold is None:
        return "-"
    return f"{'≥' if c.op == '>=' else '≤'} {format_value(c.threshold, c.unit)}"


def interval_text(c: Criterion) -> str:
    """``[low, high]`` with units, or ``-``."""
    if c.interval is None:
        return "-"
    return f"[{format_value(c.interval[0], c.unit)}, {format_value(c.interval[1], c.unit)}]"


def _shown(result: GateResult, *, all_rows: bool) -> list[Criterion]:
    """Run criteria and every endpoint criterion that did not plainly pass (all with ``all_rows``)."""
    return [c for c in result.criteria if all_rows or c.scope == RUN or c.state != PASS]


def _collapsed(shown: list[Criterion]) -> tuple[list[Criterion], list[tuple[str, list[Criterion]]]]:
    """Rows to show one by one, and the endpoints folded into one line each: not judged for too few
    samples, and skipped (nothing replayed). A small capture otherwise prints one row per endpoint."""
    small = [c for c in shown if c.state == NOT_JUDGED and c.note.startswith("not judged")]
    skipped = [c for c in shown if c.state == NOT_JUDGED and c.note.startswith("skipped")]
    folded = [(label, rows) for label, rows in (("small", small), ("skipped", skipped)) if len(rows) > 1]
    hidden = {id(c) for _, rows in folded for c in rows}
    return [c for c in shown if id(c) not in hidden], folded


def _fold_row(label: str, rows: list[Criterion]) -> tuple[str, str, str]:
    """(endpoint cell, note cell, details line) for a folded group of endpoint rows."""
    if label == "small":
        least = int(rows[0].threshold or 0)
        listed = ", ".join(f"{c.endpoint} (n={int(c.measured or 0)})" for c in rows)
        return (
            plural(len(rows), "endpoint"),
            f"not judged on latency (n < {least} each; listed below)",
            f"not judged on latency (fewer than {least} pairs): {listed}",
        )
    listed = ", ".join(f"{c.endpoint} ({c.note.removeprefix('skipped: ')})" for c in rows)
    return plural(len(rows), "endpoint"), "skipped: not replayed (listed below)", f"skipped: {listed}"


def print_gate(result: GateResult, console: Console, *, all_rows: bool = True) -> None:
    """The criteria table, accepted differences, notes and the verdict line."""
    table = Table(title=f"paritycheck gate: {result.subject}", title_justify="left")
    for name, justify in (
        ("criterion", "left"),
        ("endpoint", "left"),
        ("measured", "right"),
        ("threshold", "right"),
        (f"{result.confidence:.0%} interval", "right"),
        ("result", "left"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    shown = _shown(result, all_rows=all_rows)
    rows, folded = _collapsed(shown)
    for c in rows:
        table.add_row(
            c.name,
            c.endpoint or "(run)",
            measured_text(c),
            threshold_text(c),
            interval_text(c),
            Text(c.state, style=_STYLE.get(c.state, "dim")),
            c.note,
        )
    details = []
    for label, group in folded:
        endpoints, note, detail = _fold_row(label, group)
        table.add_row("latency", endpoints, "-", "-", "-", Text(NOT_JUDGED, style="dim"), note)
        details.append(detail)
    console.print(table)
    for detail in details:
        console.print(detail, soft_wrap=True, style="dim")
    if len(shown) < len(result.criteria):
        console.print(f"{_more_passed(len(result.criteria) - len(shown))}.")
    if result.accepted:
        acc = Table(title=f"accepted differences ({result.known_source})", title_justify="left")
        for name in ("endpoint", "kind", "path", "count", "owner", "until", "reason"):
            acc.add_column(name, overflow="fold", justify="right" if name == "count" else "left")
        for a in result.accepted:
            until = Text(a.acceptance.until.isoformat(), style="bold red" if a.expired else "")
            if a.expired:
                until.append(" expired")
            acc.add_row(
                a.endpoint, a.kind, a.path, f"{a.count:,}", a.acceptance.owner, until, a.acceptance.reason
            )
        console.print(acc)
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    if result.passed:
        console.print(Text(f"gate: PASS ({result.subject})", style="bold green"))
    else:
        failed = ", ".join(_label(c) for c in result.failures)
        console.print(Text(f"gate: FAIL ({result.subject}): {failed}", style="bold red"), soft_wrap=True)


def _more_passed(n: int) -> str:
    return f"{plural(n, 'more endpoint criterion', 'more endpoint criteria')} passed"


def _label(c: Criterion) -> str:
    if c.subject:
        return f"{c.name}: {c.subject}"
    return f"{c.name} ({c.endpoint})" if c.endpoint else c.name


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def gate_markdown(result: GateResult, *, all_rows: bool = False) -> str:
    """The gate section of the Markdown report (job summary): verdict, criteria, accepted differences."""
    lines = [
        f"## Gate: {'PASS' if result.passed else 'FAIL'} ({result.subject})",
        "",
        f"| criterion | endpoint | measured | threshold | {result.confidence:.0%} interval | result | note |",
        "|---|---|---|---|---|---|---|",
    ]
    shown = _shown(result, all_rows=all_rows)
    rows, folded = _collapsed(shown)
    for c in rows:
        state = f"**{c.state.upper()}**" if c.state == FAIL else c.state
        cells = [c.name, c.endpoint or "(run)", measured_text(c), threshold_text(c), interval_text(c)]
        lines.append("| " + " | ".join(_md(x) for x in cells) + f" | {state} | {_md(c.note)} |")
    details = []
    for label, group in folded:
        endpoints, note, detail = _fold_row(label, group)
        lines.append(f"| latency | {endpoints} | - | - | - | {NOT_JUDGED} | {_md(note)} |")
        details.append(f"<details><summary>{_md(note)}</summary>\n\n{_md(detail)}\n\n</details>")
    if details:
        lines += ["", *details]
    if len(shown) < len(result.criteria):
        lines += ["", f"{_more_passed(len(result.criteria) - len(shown))}."]
    if result.accepted:
        lines += [
            "",
            "### Accepted differences",
            "",
            "| endpoint | kind | path | count | owner | until | reason |",
        ]
        lines.append("|---|---|---|---|---|---|---|")
        for a in result.accepted:
            until = a.acceptance.until.isoformat() + (" **expired**" if a.expired else "")
            cells = [
                a.endpoint,
                a.kind,
                a.path,
                f"{a.count:,}",
                a.acceptance.owner,
                until,
                a.acceptance.reason,
            ]
            lines.append("| " + " | ".join(_md(x) for x in cells) + " |")
    if result.notes:
        lines.append("")
        lines += [f"- {_md(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"


def _pct(x: float | None) -> str:
    return "-" if x is None else format_value(x, "%")


def _groups(keys: tuple[GroupKey, ...], titles: dict[str, tuple[str, str]], limit: int = 3) -> str:
    text = "; ".join(titles.get(s, ("", s))[1] for s in keys[:limit])
    return text + (f" (+{len(keys) - limit})" if len(keys) > limit else "")


def print_history(rows: list[RunHistory], console: Console, *, details: bool = True) -> None:
    """One line per run (oldest first), then the new, flaky and gone differences of each run."""
    table = Table(title="paritycheck history", title_justify="left")
    for name in (
        "run",
        "started",
        "status",
        "replayed",
        "parity",
        "failed",
        "worst p95 ratio",
        "findings",
        "new",
    ):
        table.add_column(
            name, justify="right" if name not in ("started", "status", "worst p95 ratio") else "left"
        )
    table.add_column("flaky", justify="right")
    table.add_column("gate")
    for r in rows:
        worst = r.worst_p95_ratio
        gate = Text(r.gate or "-", style={"pass": "green", "fail": "bold red"}.get(r.gate or "", "dim"))
        table.add_row(
            str(r.run_id),
            r.started[:19].replace("T", " "),
            r.status if r.baseline or r.status != "complete" else "complete (no baseline)",
            f"{r.matched + r.mismatched + r.failed:,}",
            _pct(r.parity),
            _pct(r.failed_pct),
            "-" if worst is None else f"{format_value(worst[1], '×')} {worst[0]}",
            str(r.groups),
            Text(str(len(r.new)), style="yellow" if r.new else ""),
            Text(str(len(r.flaky)), style="magenta" if r.flaky else ""),
            gate,
        )
    console.print(table)
    if not details:
        return
    for r in rows:
        if r.note:
            console.print(Text(f"run {r.run_id}: {r.note}", style="dim" if r.baseline else "yellow"))
        for label, keys in (("new", r.new), ("flaky", r.flaky), ("gone", r.gone)):
            if keys:
                console.print(f"run {r.run_id} {label}: {_groups(keys, r.titles)}", soft_wrap=True)
