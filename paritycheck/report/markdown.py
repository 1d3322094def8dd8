"""A Markdown summary for a pull request comment or a CI job summary (``$GITHUB_STEP_SUMMARY``).

Verdict and the top findings, headline figures, the findings (riskiest first), the endpoints not at
parity with their top differences, and latency regressions as the gate would judge them; always under
:data:`MAX_BYTES` so that it fits a job summary (GitHub allows 1 MiB, GitLab less in a comment).
Values from backends are escaped so that they render as text, never as markup.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from paritycheck.common.text import noun
from paritycheck.compare import described, severity
from paritycheck.findings import Finding
from paritycheck.report import model as m
from paritycheck.report.explore_section import explore_markdown
from paritycheck.report.model import ReportModel, unfinished_text
from paritycheck.store import Store

MAX_BYTES = 64_000
_SPECIAL = re.compile(r"([\\`*_\[\]|#~!<>])")


def md(value: Any, *, limit: int = 80) -> str:
    """Text that renders literally inside a Markdown table cell: one line, specials escaped, cut."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;")
    return _SPECIAL.sub(
        lambda match: {"<": "&lt;", ">": "&gt;"}.get(match.group(1), "\\" + match.group(1)), text
    )


def code(value: Any, *, limit: int = 70) -> str:
    """An inline code span that stays one table cell: backticks replaced, pipes escaped (GFM tables)."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


_RISK_MD = {"accepts-refused": "**⚠ candidate accepts what legacy refused** ", "breaking": "**breaking** "}


def _wire(g: m.Group) -> str:
    return _wire_of(g.wire)


def _wire_of(wire: dict[str, str]) -> str:
    return "".join(f" ({side} on the wire {code(p, limit=60)})" for side, p in wire.items())


def _values(g: m.Group) -> str:
    legacy, candidate = described(g.kind, "legacy", g.legacy), described(g.kind, "candidate", g.candidate)
    return f"{md(legacy, limit=30)} → {md(candidate, limit=30)}"


def _ms(value: float | None) -> str:
    return "–" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.1f}")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def render_markdown(report: ReportModel, *, top: int = 3, max_bytes: int = MAX_BYTES) -> str:
    """The Markdown summary of ``report``, at most ``max_bytes`` bytes of UTF-8."""
    s, run = report.summary, report.run
    icon = {"at parity": "✅", "not at parity": "❌"}.get(report.verdict, "⚠️")
    head = [f"## {icon} paritycheck run {run.id}: {report.verdict.upper()}", ""]
    if not report.finished:
        head += [f"**{md(unfinished_text(run.status, s.total, report.replayed))}**", ""]
    if report.findings.items:
        n = len(report.findings)
        top3 = " ".join(f"**{i}.** {_title(f)}" for i, f in enumerate(report.findings.items[:3], 1))
        more = f" (+{n - 3} more below)" if n > 3 else ""
        head += [f"**{n} {noun(n, 'finding')}**, riskiest first: {top3}{more}", ""]
    prev = ""
    if report.previous is not None and report.parity is not None and report.previous.parity is not None:
        change = report.parity - report.previous.parity
        arrow = "▲" if change > 0 else ("▼" if change < 0 else "=")
        prev = f" ({arrow} {abs(change):.1f} pts vs run {report.previous.run_id})"
    elif report.previous is None and report.previous_note.startswith("no comparable run"):
        prev = " (no comparable earlier run)"
    head += [
        f"**{s.total:,}** {noun(s.total, 'exchange')} · parity **{_pct(report.parity)}**{prev}"
        f" · **{s.mismatched:,}** mismatched · **{s.failed:,}** failed · {s.skipped:,} skipped"
        f" · {report.noise_paths} noise paths",
        "",
        f"p95 legacy {_ms(report.legacy_ms['p95'])} ms · candidate {_ms(report.candidate_ms['p95'])} ms"
        f" · legacy {md(run.backends.get('legacy', '?'))}"
        f" · candidate {md(run.backends.get('candidate', '?'))}"
        f" · paritycheck {md(run.tool_version)}",
        "",
    ]
    head += _gate(report)
    groups: dict[str, list[m.Group]] = {}
    for g in report.groups:
        groups.setdefault(g.endpoint, []).append(g)
    bad = sorted(
        (e for e in report.endpoints if not e.at_parity),
        key=lambda e: (-(e.mismatched + e.failed), e.endpoint),
    )
    rows: list[str] = []
    for e in bad:
        found = groups.get(e.endpoint, [])
        diffs = "<br>".join(
            f"{g.count:,}× {_RISK_MD.get(g.risk, '')}{md(g.kind)} {code(g.path, limit=60)}{_wire(g)}:"
            f" {_values(g)}"
            for g in sorted(found, key=lambda g: (severity(g.risk), -g.count))[:top]
        )
        if len(found) > top:
            diffs += f"<br>… {len(found) - top} more"
        if e.failed:
            reasons = [r for r in report.failures if r.endpoint == e.endpoint][:1]
            why = f": {md(reasons[0].reason, limit=60)}" if reasons else ""
            diffs += f"{'<br>' if diffs else ''}{e.failed:,} failed{why}"
        rows.append(
            f"| {code(e.endpoint)} | {e.matched + e.mismatched + e.failed:,} | {e.mismatched:,}"
            f" | {e.failed:,} | {_pct(e.parity)} | {diffs} |"
        )
    slow = [
        f"| {code(e.endpoint)} | {_ms(e.legacy_ms['p95'])} | {_ms(e.candidate_ms['p95'])} | {e.ratio:.2f}× |"
        for e in report.slower_endpoints
        if e.ratio is not None
    ]
    sections: list[tuple[list[str], list[str]]] = []
    if report.findings.items:
        sections.append(
            (
                [
                    "### Findings",
                    "",
                    "| # | risk | finding | exchanges | endpoints | example (legacy → candidate) |",
                    "|--:|---|---|--:|---|---|",
                ],
                [_finding_row(i, f) for i, f in enumerate(report.findings.items, 1)],
            )
        )
    if rows:
        sections.append(
            (
                [
                    "### Endpoints not at parity",
                    "",
                    "| endpoint | replayed | mismatched | failed | parity | top differences |",
                    "|---|--:|--:|--:|--:|---|",
                ],
                rows,
            )
        )
    if slow:
        sections.append(
            (
                [
                    "### Latency regressions (p95, ms)",
                    "",
                    "| endpoint | legacy | candidate | ratio |",
                    "|---|--:|--:|--:|",
                ],
                slow,
            )
        )
    sections += _contracts(report)
    sections += explore_markdown(report.run.meta)
    return _fit(head, sections, max_bytes)


def _title(f: Finding) -> str:
    """A finding's title: its `quoted` names as code spans, the rest escaped."""
    out = []
    for i, part in enumerate(f.title.split("`")):
        if i % 2:
            out.append(code(part, limit=60))
        elif part.strip():
            out.append(
                (" " if part[0] == " " else "") + md(part, limit=160) + (" " if part[-1] == " " else "")
            )
        else:
            out.append(part)
    return "".join(out)


def _finding_row(n: int, f: Finding) -> str:
    ex = f.example
    where = ", ".join(code(e, limit=50) for e in f.endpoints[:2])
    if len(f.endpoints) > 2:
        where += f" and {len(f.endpoints) - 2} more"
    legacy, candidate = described(ex.kind, "legacy", ex.legacy), described(ex.kind, "candidate", ex.candidate)
    place = f"{code(ex.example_path or ex.path, limit=50)}{_wire_of(ex.wire)}"
    example = f"{place}: {md(legacy, limit=30)} → {md(candidate, limit=30)}"
    risk = _RISK_MD.get(f.grade, md(f.grade) + " ").strip()
    return f"| {n} | {risk} | {_title(f)} | {f.exchanges:,} | {where} | {example} |"


def _gate(report: ReportModel) -> list[str]:
    """The verdict ``paritycheck gate`` recorded with the run, and the criteria that failed."""
    gate = report.gate
    if gate is None:
        return []
    if gate.passed:
        return ["**Gate: PASS** (recorded by `paritycheck gate`)", ""]
    n = len(gate.failed)
    names = ", ".join(md(x, limit=100) for x in gate.failed[:10])
    more = f", … {n - 10} more" if n > 10 else ""
    failed = f": {names}{more}" if n else ""
    word = "criterion" if n == 1 else "criteria"
    return [f"**Gate: FAIL** ({n} {word} failed{failed}) (recorded by `paritycheck gate`)", ""]


def _contracts(report: ReportModel) -> list[tuple[list[str], list[str]]]:
    """One line and a table of the operations with violations, per stored contract check."""
    out: list[tuple[list[str], list[str]]] = []
    for c in report.contracts:
        name = f"{c.title} ({c.spec})" if c.title else c.spec
        title = [
            f"### Contract: {md(name)} ({md(c.mode)})",
            "",
            f"{'✅ honoured' if c.ok else '❌ violated'} · {len(c.exercised)} of {len(c.operations)}"
            f" operations exercised · legacy **{c.legacy_violations:,}** violations · candidate"
            f" **{c.candidate_violations:,}** · **{c.candidate_only:,}** candidate-only requests"
            f" · {len(c.undocumented):,} undocumented · {len(c.unexercised):,} unexercised operations/codes",
            "",
        ]
        bad = sorted(
            (o for o in c.operations if o.legacy or o.candidate),
            key=lambda o: (-o.candidate_only, -(o.legacy + o.candidate), o.operation),
        )
        if not bad:
            out.append((title, []))
            continue
        title += [
            "| operation | seen | legacy | candidate | candidate only | first violation |",
            "|---|--:|--:|--:|--:|---|",
        ]
        rows = []
        for o in bad:
            v = o.violations[0] if o.violations else None
            first = (
                f"{md(v.side)} {v.status} {code(v.path, limit=50)} {md(v.keyword)}: {md(v.message, limit=60)}"
                if v
                else ""
            )
            only = f"**{o.candidate_only:,}**" if o.candidate_only else "0"
            seen = "–" if o.seen is None else f"{o.seen:,}"
            rows.append(
                f"| {code(o.operation)} | {seen} | {o.legacy:,} | {o.candidate:,} | {only} | {first} |"
            )
        out.append((title, rows))
    return out


def _fit(head: list[str], sections: list[tuple[list[str], list[str]]], max_bytes: int) -> str:
    """Join the parts, dropping table rows from the end (and saying so) until it fits."""
    footer = ["", "_Full report: `paritycheck report` (HTML)._", ""]
    out = "\n".join(head) + "\n"
    used = len(out.encode()) + len("\n".join(footer).encode()) + 200
    for title, rows in sections:
        block = "\n".join(title) + "\n"
        used += len(block.encode())
        kept = 0
        for row in rows:
            size = len(row.encode()) + 1
            if used + size > max_bytes:
                break
            block += row + "\n"
            used += size
            kept += 1
        if kept < len(rows):
            block += f"\n_… {len(rows) - kept} more rows left out to stay under {max_bytes // 1000} KB._\n"
        out += block + "\n"
    return out + "\n".join(footer)


def write_markdown(store: Store, run_id: int | None, path: str | Path, *, top: int = 3) -> Path:
    """Write the Markdown summary of run ``run_id`` (None: the latest) to ``path``."""
    text = render_markdown(m.build(store, run_id, max_examples=0), top=top)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
