"""The report's opening: the findings, riskiest first, each opening onto its groups and examples.

A finding shows its grade, its title, how many exchanges and which endpoints, when it was first seen,
why its groups are one finding, one example pair with wire paths and a paste-ready acceptance. Its
groups are the per-endpoint groups it covers; each opens onto its first example exchange, embedded once
in a ``<template>`` shared with the per-endpoint differences below (:class:`Embedded`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from paritycheck.common.text import plural
from paritycheck.compare import described
from paritycheck.findings import Finding, Member, grade_label
from paritycheck.gate.accepted import finding_entry
from paritycheck.report.html_exchange import esc, example_html, short, wire_html
from paritycheck.report.model import Example, ReportModel

__all__ = ["MAX_FINDINGS", "Embedded", "findings_html", "headline_html"]

#: Findings listed at most (the riskiest first), and groups listed per finding.
MAX_FINDINGS = 200
MAX_MEMBERS = 40
#: Endpoints named in a finding's line before "and N more".
_ENDPOINTS = 2


class Embedded:
    """Example exchanges embedded once each, in ``<template>`` elements, until ``budget`` bytes."""

    def __init__(self, budget: int, backends: Mapping[str, str]) -> None:
        self.budget = budget
        self.backends = backends
        self.size = 0
        self.templates: dict[int, str] = {}

    def embed(self, x: Example) -> bool:
        """Embed ``x`` unless the budget is spent; True when it is (now or already) embedded."""
        if x.id not in self.templates and self.size < self.budget:
            self.templates[x.id] = f'<template id="x-{x.id}">{example_html(x, self.backends)}</template>'
            self.size += len(self.templates[x.id].encode())
        return x.id in self.templates

    def html(self) -> str:
        return "".join(self.templates.values())


_TICKS = re.compile(r"`([^`]*)`")


def words_html(text: str) -> str:
    """A title in words as HTML: escaped, with its `quoted` names as code."""
    return _TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", esc(text))


def _endpoints(f: Finding) -> str:
    names = f.endpoints
    shown = ", ".join(names[:_ENDPOINTS])
    more = len(names) - _ENDPOINTS
    return shown + (f" and {more} more" if more > 0 else "")


def _seen(f: Finding, run_id: int) -> str:
    if f.first_seen is None or f.first_seen == run_id:
        return "new in this run"
    return f"first seen in run {f.first_seen}" + (f" ({f.first_seen_at[:10]})" if f.first_seen_at else "")


def _example(f: Finding) -> str:
    m = f.example
    legacy, candidate = described(m.kind, "legacy", m.legacy), described(m.kind, "candidate", m.candidate)
    lines = [
        f'<span class="mono">{esc(m.endpoint)}</span> <code>{esc(m.example_path or m.path)}</code>'
        f" {wire_html(m.wire)}",
        f'<span class="key-l">legacy</span> <code class="val">{esc(short(legacy))}</code>'
        f' <span class="key-c">candidate</span> <code class="val">{esc(short(candidate))}</code>',
    ]
    for c in f.consequences[:3]:
        old, new = described(c.kind, "legacy", c.legacy), described(c.kind, "candidate", c.candidate)
        lines.append(
            f'<span class="muted">with it:</span> <code>{esc(c.example_path or c.path)}</code>'
            f' {wire_html(c.wire)}<span class="key-l">legacy</span>'
            f' <code class="val">{esc(short(old))}</code>'
            f' <span class="key-c">candidate</span> <code class="val">{esc(short(new))}</code>'
        )
    return "<br>".join(lines)


def _member(m: Member, mid: str, embedded: Embedded, examples: Mapping[int, Example]) -> str:
    legacy, candidate = described(m.kind, "legacy", m.legacy), described(m.kind, "candidate", m.candidate)
    x = examples.get(m.examples[0]) if m.examples else None
    if x is not None and embedded.embed(x):
        slot = f'<div class="slot" data-x="{x.id}"></div>'
    else:
        slot = '<p class="note">no example embedded for this group (see the size note below).</p>'
    role = '<span class="conseq">with the status</span>' if m.consequence else ""
    return (
        f'<details class="grp" id="{mid}" data-kind="{esc(m.kind)}" data-path="{esc(m.path)}">'
        f'<summary><span class="count">{m.count:,}×</span>{role}'
        f'<span class="mono">{esc(m.endpoint)}</span>'
        f'<span class="kind {esc(m.kind)}">{esc(m.kind)}</span><code>{esc(m.path)}</code>{wire_html(m.wire)}'
        f'<span class="key-l">legacy</span> <code class="val">{esc(short(legacy))}</code>'
        f'<span class="key-c">candidate</span> <code class="val">{esc(short(candidate))}</code>'
        f"</summary>{slot}</details>"
    )


def _finding(f: Finding, n: int, r: ReportModel, embedded: Embedded, today: dt.date) -> str:
    members = f.members[:MAX_MEMBERS]
    groups = "".join(_member(m, f"f-{n}-{i}", embedded, r.finding_examples) for i, m in enumerate(members))
    if len(f.members) > MAX_MEMBERS:
        groups += f'<p class="note">{plural(len(f.members) - MAX_MEMBERS, "more group")} not listed.</p>'
    toml = finding_entry(f.signature, until=f.accept_until(today=today))
    meta = " · ".join(
        [
            plural(f.exchanges, "exchange"),
            plural(len(f.endpoints), "endpoint") + ": " + _endpoints(f),
            _seen(f, r.run.id),
        ]
    )
    grade = esc(f.grade)
    return (
        f'<li class="finding {grade}"><details class="fnd" id="f-{n}" data-signature="{esc(f.signature)}"'
        f' data-grade="{grade}"><summary><span class="risk {grade}">{esc(grade_label(f.grade))}</span>'
        f' <span class="ftitle">{words_html(f.subject)}</span><br>'
        f'<span class="fmeta muted">{esc(meta)}</span>'
        f'</summary><div class="fbody"><p><b>Why one finding:</b> {words_html(f.why)}.'
        f' <span class="muted">Signature <code>{esc(f.signature)}</code>.</span></p>'
        f"<p><b>Example:</b> {_example(f)}</p>"
        f"<p><b>Accept it</b> (<code>{esc(f.accept_command(today=today))}</code>,"
        " or in known-differences.toml):</p>"
        f'<pre class="accept">{esc(toml)}</pre>'
        f'<div class="members"><p class="note">{plural(len(f.members), "group")}, each with its first'
        f" example exchange:</p>{groups}</div></div></details></li>"
    )


def findings_html(r: ReportModel, embedded: Embedded, *, today: dt.date | None = None) -> str:
    """The findings section: every finding (up to :data:`MAX_FINDINGS`), riskiest first."""
    items = r.findings.items
    if not items:
        what = "No findings: no difference remained after normalising." if r.replayed else "No findings."
        return f'<section id="findings"><h2>Findings</h2><p>{what}</p></section>'
    today = today or dt.date.today()
    shown = "".join(_finding(f, n, r, embedded, today) for n, f in enumerate(items[:MAX_FINDINGS], 1))
    more = len(items) - MAX_FINDINGS
    note = f'<p class="note">{plural(more, "less risky finding")} not listed.</p>' if more > 0 else ""
    grades = ", ".join(f"{n} {grade_label(g)}" for g, n in r.findings.by_grade().items())
    return (
        f'<section id="findings"><h2>Findings <span class="muted">{plural(len(items), "root cause")},'
        f" riskiest first: {esc(grades)}</span></h2>"
        '<p class="note">A finding is one root cause: the difference groups, across endpoints, that one'
        " change in the candidate explains (same kind, field and value classes or status pair); the body"
        " differences of a changed status come with it. Open one for its groups and examples.</p>"
        f'<ol class="findings">{shown}</ol>{note}</section>'
    )


def headline_html(r: ReportModel, top: int = 3) -> str:
    """The headline's list of the top findings, linked to them."""
    items = r.findings.items[:top]
    if not items:
        return ""
    links = "".join(
        f'<li><a href="#f-{n}"><span class="risk {esc(f.grade)}">{esc(grade_label(f.grade))}</span>'
        f" {words_html(f.subject)}</a></li>"
        for n, f in enumerate(items, 1)
    )
    more = len(r.findings.items) - top
    tail = f'<p class="note">and {plural(more, "more finding")} below.</p>' if more > 0 else ""
    return f'<div class="headline"><ol>{links}</ol>{tail}</div>'
