"""Terminal output: the run summary table, the dry-run listing and the progress bar."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from paritycheck.common.text import plural
from paritycheck.compare import described, on_the_wire, redact, severity
from paritycheck.errors import ExitStatus
from paritycheck.models import Outcome

if TYPE_CHECKING:
    from paritycheck.config import Config
    from paritycheck.findings import Finding, Findings
    from paritycheck.gate import LiveSummary, RunSummary
    from paritycheck.run import Planned

#: Example values longer than this are cut in the terminal (the HTML report shows them whole).
EXAMPLE_WIDTH = 32


class Progress:
    """A live count of outcomes on stderr, shown only when stderr is a terminal.

    The counts are the run's own :class:`~paritycheck.gate.LiveSummary` (pass the same object to
    ``replay_captures``); the bar only decides when to redraw.
    """

    def __init__(self, console: Console, live: LiveSummary) -> None:
        self.console = console
        self.enabled = console.is_terminal
        self.live = live
        self._bar: RichProgress | None = None
        self._task: Any = None
        self._pending = 0

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("replaying", total=None)
        return self

    def advance(self, outcome: Outcome) -> None:
        if self._bar is None:
            return
        self._pending += 1
        # Updating per outcome costs more than the replay at thousands of pairs per second.
        if self._pending >= 25:
            self._flush()

    def _flush(self) -> None:
        assert self._bar is not None
        c = self.live
        self._bar.update(
            self._task,
            completed=c.total,
            description=(
                f"[green]{c.matched} matched[/] [red]{c.mismatched} mismatched[/] "
                f"[yellow]{c.failed} failed[/] [dim]{c.skipped} skipped[/]"
            ),
        )
        self._pending = 0

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


_RISK_STYLE = {"accepts-refused": "bold white on red", "breaking": "bold red", "behavioural": "yellow"}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    return text if len(text) <= EXAMPLE_WIDTH else text[: EXAMPLE_WIDTH - 1] + "…"


def _parity(value: float | None) -> Text:
    if value is None:
        return Text("-", style="dim")
    style = "green" if value >= 100 else ("yellow" if value >= 95 else "red")
    return Text(f"{value:.1f}%", style=style)


def fold_endpoint(name: str, width: int) -> str:
    """``name`` in lines of at most ``width`` characters, broken only before a ``/`` (or a space).

    Rich folds a cell mid-word (``/api/v1/projects/{id}/co`` / ``mments``); breaking at path separators
    keeps every segment readable. A single segment longer than ``width`` stays whole on its line.
    """
    if len(name) <= width:
        return name
    parts: list[str] = []
    for word in name.split(" "):
        pieces = word.split("/")
        parts += [p for p in [pieces[0], *("/" + x for x in pieces[1:])] if p]
        parts[-1] += " "
    lines, line = [], ""
    for part in parts:
        if line and len(line.rstrip()) + len(part.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += part
    lines.append(line.rstrip())
    return "\n".join(lines)


#: Findings printed at most; the rest are counted (the HTML report lists them all).
TOP_FINDINGS = 10


def print_findings(findings: Findings, *, out: Console, top: int = TOP_FINDINGS) -> None:
    """The findings, riskiest first: grade, title, exchanges, endpoints and an example, one block each."""
    if not findings.items:
        return
    out.print(Text(f"Findings ({len(findings)}, riskiest first)", style="bold"))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("grade", no_wrap=True)
    table.add_column("finding", overflow="fold")
    for n, f in enumerate(findings.items[:top], 1):
        names = f.endpoints
        where = ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        line = Text(f.title, style="bold")
        line.append(f"\n{plural(f.exchanges, 'exchange')} · {where} · e.g. {_example(f)}", style="dim")
        table.add_row(f"{n}.", Text(f.grade, style=_RISK_STYLE.get(f.grade, "")), line)
    out.print(table)
    if len(findings) > top:
        out.print(
            Text(f"  … {plural(len(findings) - top, 'more finding')} (paritycheck report)", style="dim")
        )


def _example(f: Finding) -> str:
    m = f.example
    legacy = _short(described(m.kind, "legacy", m.legacy))
    candidate = _short(described(m.kind, "candidate", m.candidate))
    wire = f" ({on_the_wire(m.wire)})" if m.wire else ""
    return f"{m.example_path or m.path}{wire}: {legacy} → {candidate}"


def print_summary(summary: RunSummary, *, out: Console, top: int = 5) -> None:
    """The findings, the per-endpoint parity and latency table, then totals and a verdict naming the
    top findings. A summary without findings (counted from outcomes alone) lists each endpoint's top
    differences instead."""
    if summary.findings is not None:
        print_findings(summary.findings, out=out)
    table = Table(title=f"paritycheck run {summary.run_id}", title_justify="left", show_lines=False)
    longest = max((len(ep.endpoint) for ep in summary.endpoints), default=8)
    # What the figures' columns (about 96 characters with borders) leave of the width, never under 20.
    name_width = min(longest, max(20, out.width - 96))
    table.add_column("endpoint", overflow="fold", min_width=name_width)
    for name in ("total", "matched", "mismatched", "failed"):
        table.add_column(name, justify="right")
    table.add_column("parity", justify="right")
    table.add_column("legacy p50/p95 ms", justify="right")
    table.add_column("candidate p50/p95 ms", justify="right")
    for ep in summary.endpoints:
        replayed = ep.matched + ep.mismatched + ep.failed
        if replayed == 0:
            continue
        lat_l = f"{_ms(ep.legacy_ms.get('p50'))} / {_ms(ep.legacy_ms.get('p95'))}"
        lat_c = f"{_ms(ep.candidate_ms.get('p50'))} / {_ms(ep.candidate_ms.get('p95'))}"
        table.add_row(
            fold_endpoint(ep.endpoint, name_width),
            str(replayed),
            str(ep.matched),
            Text(str(ep.mismatched), style="red" if ep.mismatched else ""),
            Text(str(ep.failed), style="yellow" if ep.failed else ""),
            _parity(ep.parity),
            lat_l,
            lat_c,
        )
    out.print(table)

    for ep in summary.endpoints if summary.findings is None else ():
        if not ep.differences:
            continue
        out.print(Text(fold_endpoint(ep.endpoint, out.width), style="bold"))
        diffs = Table(box=None, show_header=False)
        diffs.add_column("count", justify="right", no_wrap=True, min_width=5)
        diffs.add_column("risk", no_wrap=True)
        diffs.add_column("kind", style="magenta", no_wrap=True)
        diffs.add_column("path", overflow="fold", min_width=24)
        diffs.add_column("legacy", style="dim", overflow="ellipsis", no_wrap=True, max_width=EXAMPLE_WIDTH)
        diffs.add_column("candidate", style="dim", overflow="ellipsis", no_wrap=True, max_width=EXAMPLE_WIDTH)
        # The most severe finding first (a refusal the candidate accepts, then breaking changes), then
        # a changed status code before any body field, however rare.
        ranked = sorted(ep.differences, key=lambda g: (severity(g.risk), g.kind != "status", -g.count))
        for group in ranked[:top]:
            diffs.add_row(
                f"{group.count}×",
                Text(group.risk, style=_RISK_STYLE.get(group.risk, "")),
                group.kind,
                group.path + (f" ({on_the_wire(group.wire)})" if group.wire else ""),
                _short(described(group.kind, "legacy", group.legacy)),
                _short(described(group.kind, "candidate", group.candidate)),
            )
        if len(ep.differences) > top:
            more = len(ep.differences) - top
            text = Text(f"… {plural(more, 'more group')} (paritycheck report)", style="dim")
            diffs.add_row("", "", "", text, "", "")
        out.print(diffs)
    # Noise is shown, never hidden: what was ignored and on what evidence (docs/noise.md).
    for ep in summary.endpoints:
        evidence: dict[str, list[str]] = {}
        for noise in ep.noise:
            evidence.setdefault(noise.describe(), []).append(noise.path)
        for why, paths in evidence.items():
            out.print(Text(f"{ep.endpoint}: ignored as noise ({why}): {', '.join(paths)}", style="dim"))
    if summary.failure_reasons:
        out.print(Text("Failed exchanges", style="bold"))
        for reason, count in summary.failure_reasons[:top]:
            out.print(Text(f"  {count}× {reason}", style="yellow"))
        if len(summary.failure_reasons) > top:
            out.print(
                Text(
                    f"  … {plural(len(summary.failure_reasons) - top, 'more reason')} (paritycheck report)",
                    style="dim",
                )
            )
    for side in ("legacy", "candidate"):
        unreachable = _all_failed(summary, side)
        if unreachable:
            url = summary.backends.get(side, side)
            out.print(
                Text(
                    f"The {side} backend {url} answered no exchange ({unreachable}): is it running?",
                    style="bold yellow",
                )
            )

    replayed = summary.matched + summary.mismatched + summary.failed
    parity = 100.0 * summary.matched / replayed if replayed else None
    totals = Text()
    totals.append(f"{plural(summary.total, 'exchange')}: ")
    totals.append(f"{summary.matched} matched", style="green")
    totals.append(", ")
    totals.append(f"{summary.mismatched} mismatched", style="red" if summary.mismatched else "")
    totals.append(", ")
    totals.append(f"{summary.failed} failed", style="yellow" if summary.failed else "")
    totals.append(f", {summary.skipped} skipped")
    if parity is not None:
        totals.append("  parity ")
        totals.append_text(_parity(parity))
    out.print(totals)
    if summary.skip_reasons:
        out.print(Text("  skipped: " + ", ".join(f"{n}× {r}" for r, n in summary.skip_reasons), style="dim"))
    if summary.hosts:
        out.print(Text(hosts_line(summary.hosts), style="dim"))
    sessions = summary.sessions
    if sessions:
        writes = sessions.get("writes") or {}
        line = f"  sessions: {sessions.get('count', 0)}, writes sent: " + ", ".join(
            f"{side} {n}" for side, n in writes.items()
        )
        applied = (sessions.get("correlations") or {}).get("applied") or {}
        if applied:
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(applied.items()))
            line += f"; correlated values applied: {counts}"
        out.print(Text(line, style="dim"))
        for reset in sessions.get("resets") or []:
            out.print(Text(f"  reset {reset.get('side')}: exit {reset.get('exit_status')}", style="dim"))
    if summary.shards:
        out.print(Text(f"shards: {summary.shards}", style="dim"))
    if summary.status not in (None, "complete"):  # a run that did not finish is never "at parity"
        from paritycheck.report.model import unfinished_label, unfinished_text

        out.print(Text(unfinished_text(summary.status, summary.total, replayed), style="yellow"))
        out.print(Text(unfinished_label(summary.status).upper(), style="bold yellow"))
        return
    verdict = (
        Text("AT PARITY", style="bold green")
        if replayed and summary.mismatched == 0 and summary.failed == 0
        else Text("NOT AT PARITY", style="bold red")
        if replayed
        else Text("NOTHING REPLAYED", style="bold yellow")
    )
    if summary.findings is not None and summary.findings.items:
        verdict.append(f": {summary.findings.headline()}", style="bold")
    out.print(verdict, soft_wrap=True)


def hosts_line(hosts: dict[str, Any]) -> str:
    """``hosts: replayed api.x (why); 95 other hosts skipped: cdn.y (40 entries), ...``."""
    line = f"  hosts: replayed {', '.join(hosts.get('replayed') or ['*'])} ({hosts.get('why', '')})"
    others = hosts.get("other_hosts") or []
    if others:
        named = ", ".join(f"{o['host']} ({o['entries']})" for o in others[:5])
        more = int(hosts.get("others", len(others))) - min(5, len(others))
        line += f"; {plural(int(hosts.get('others', len(others))), 'other host')} skipped: {named}"
        line += f", … {more} more" if more > 0 else ""
        line += f" (entries in the first {hosts.get('sampled', '?')}); --host or [replay] hosts to choose"
    return line


def _all_failed(summary: RunSummary, side: str) -> str | None:
    """The commonest transport error, when every replayed exchange failed on ``side`` (any mix of reasons)."""
    replayed = summary.matched + summary.mismatched + summary.failed
    if not replayed or summary.failed != replayed:
        return None
    reasons: Counter[str] = Counter()
    for reason, count in summary.failure_reasons:
        for part in reason.split("; "):
            if part.startswith(f"{side}: "):
                reasons[part.removeprefix(f"{side}: ")] += count
    if sum(reasons.values()) != replayed:
        return None
    return reasons.most_common(1)[0][0]


def print_dry_run(
    plan: Iterable[Planned], config: Config, *, out: Console, json_to: Path | str | None = None
) -> int:
    """List what would be sent where; nothing is sent. Streams: memory does not grow with the capture.

    Targets are redacted exactly as the store redacts URLs (``?api_key=redacted-1a2b3c4d``). With
    ``json_to``, one JSON document on stdout (``-``) or in that file: the requests that would be sent,
    the skips with reasons, the counts.
    """
    if json_to is not None and json_to != "-":
        path = Path(json_to)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            status = _dry_run(plan, config, out=out, write=fh.write, as_json=True)
        print(f"wrote {path}", file=sys.stderr)
        return status
    sys.stdout.flush()
    return _dry_run(plan, config, out=out, write=sys.stdout.write, as_json=json_to is not None)


def _dry_run(
    plan: Iterable[Planned], config: Config, *, out: Console, write: Callable[[str], object], as_json: bool
) -> int:
    sent = 0
    skipped: Counter[str] = Counter()
    with redact.unkeyed():  # as runs.backends keeps them
        legacy = redact.url(config.backends.legacy.url) or None
        candidate = redact.url(config.backends.candidate.url) or None
    if as_json:
        write('{"requests": [')
    first = True
    for item in plan:
        request = item.exchange.request
        target = redact.url(request.target, redact.request_secrets(request))
        skip = redact.text(item.skip) if item.skip is not None else None
        if as_json:
            line = {"method": request.method, "target": target, "endpoint": item.endpoint}
            if skip is not None:
                line["skipped"] = skip
            write(("" if first else ",") + "\n  " + json.dumps(line, ensure_ascii=False))
            first = False
        elif skip is None:
            write(f"{request.method} {target}  [{item.endpoint}]\n")
        else:
            write(f"skip {request.method} {target}  ({skip})\n")
        if skip is None:
            sent += 1
        else:
            skipped[skip] += 1
    total_skipped = sum(skipped.values())
    if as_json:
        tail = {
            "would_send": sent,
            "skipped": total_skipped,
            "skip_reasons": [{"reason": r, "count": n} for r, n in skipped.most_common()],
            "backends": {"legacy": legacy, "candidate": candidate},
        }
        write("\n], " + json.dumps(tail, ensure_ascii=False)[1:] + "\n")
        sys.stdout.flush()
        return ExitStatus.OK
    sys.stdout.flush()
    where = (
        f"{legacy or '(no legacy backend configured)'} and {candidate or '(no candidate backend configured)'}"
    )
    out.print(f"dry run: {plural(sent, 'exchange')} would be sent to {where}; {total_skipped} skipped")
    for reason, count in skipped.most_common():
        out.print(f"  {count}× {reason}")
    return ExitStatus.OK


def print_interrupted(
    db: Path | str, *, err: Console, run_id: int | None = None, started: bool = True
) -> None:
    """After Ctrl-C: say what was kept, of run ``run_id`` (default: the latest); ``started``: if any."""
    from paritycheck.store import Store, display_location

    shown = display_location(db)
    if not started:
        err.print("interrupted before the run started: nothing was stored")
        return
    try:
        with Store.open(db, create=False) as store:
            run_id = store.latest_run_id() if run_id is None else run_id
            kept = store.run(run_id)
        err.print(f"interrupted: run {run_id} kept {getattr(kept, 'total', '?')} exchanges in {shown}")
    except Exception:  # the interrupt message must not itself fail
        err.print(f"interrupted: results so far are in {shown}")


def print_unfinished(db: Path, *, err: Console, run_id: int | None) -> None:
    """After a run that did not finish (a capture error): its status and how much it did.

    Nothing when ``run_id`` is None: the error came before this command started a run (a capture
    that does not exist), and the latest stored run is another command's.
    """
    from paritycheck.report.model import unfinished_text
    from paritycheck.store import Store

    if run_id is None:
        return
    try:
        with Store.open(db, create=False) as store:
            run = store.run(run_id)
        replayed = run.matched + run.mismatched + run.failed
        err.print(f"{unfinished_text(run.status, run.total, replayed)}; kept in {db}", soft_wrap=True)
    except Exception:  # the message must not hide the error that ended the run
        return


__all__ = [
    "Progress",
    "fold_endpoint",
    "print_dry_run",
    "print_findings",
    "print_interrupted",
    "print_summary",
    "print_unfinished",
]
