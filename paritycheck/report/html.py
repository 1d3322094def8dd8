"""The self-contained HTML report: verdict, endpoints, latency plots and every difference group.

One file with inline CSS, JavaScript and SVG and no network requests. Every value from a capture or a
backend passes through :func:`esc` and is only placed in element text or a quoted attribute, never in a
URL, script or style; a Content-Security-Policy allows only the report's own inline style and script.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from paritycheck.common.text import noun, plural
from paritycheck.compare import described
from paritycheck.report import model as m
from paritycheck.report.explore_section import explore_html
from paritycheck.report.html_contract import contract_html, fig_class, gate_meta, header_figures
from paritycheck.report.html_exchange import esc, example_html, short, wire_html
from paritycheck.report.html_exchange import ms as _ms
from paritycheck.report.model import EndpointRow, Group, ReportModel, unfinished_text
from paritycheck.report.streams import stream_html
from paritycheck.store import Store

#: Once the example templates pass this many bytes, further examples are left out.
DEFAULT_BUDGET = 3_000_000
#: Endpoint rows and difference groups listed at most (the most important first), to bound the size.
MAX_ROWS = 2_000
MAX_LISTED_GROUPS = 1_500
#: Latency plots drawn (endpoints with the most exchanges first).
MAX_PLOTS = 60
_SLOT = re.compile(r"<!--slot:([a-z]+)-->")


def write_html(
    store: Store,
    run_id: int | None,
    path: str | Path,
    *,
    max_examples: int = m.DEFAULT_MAX_EXAMPLES,
    max_groups: int = m.DEFAULT_MAX_GROUPS,
    body_limit: int = m.DEFAULT_BODY_LIMIT,
) -> Path:
    """Build the report of run ``run_id`` (None: the latest) and write it to ``path``; return the path."""
    report = m.build(store, run_id, max_examples=max_examples, max_groups=max_groups, body_limit=body_limit)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report), encoding="utf-8")
    return out


def _asset(name: str) -> str:
    return resources.files("paritycheck.report").joinpath("templates", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render_html(report: ReportModel, *, budget: int = DEFAULT_BUDGET) -> str:
    """The whole report page as a string."""
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; img-src data:;"
        " base-uri 'none'; form-action 'none'"
    )
    run = report.run
    slots = {
        "csp": csp,
        "title": esc(f"paritycheck run {run.id}: {report.verdict}"),
        "css": css,
        "js": js,
        "body": "\n".join(
            [
                _header(report),
                _endpoints(report),
                contract_html(report.contracts),
                explore_html(report.run.meta),
                _plots(report),
                stream_html(report.streams, esc),
                _differences(report, budget=budget),
                _reasons(report),
                _footer(report),
            ]
        ),
    }
    # One pass: text put into a slot is never scanned for further slots.
    return _SLOT.sub(lambda match: slots[match.group(1)], _asset("report.html"))


# ---------------------------------------------------------------------------------------------- numbers


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _delta(now: float | None, before: float | None, *, unit: str, higher_is_better: bool) -> str:
    if now is None or before is None:
        return '<span class="same">no figure to compare</span>'
    change = now - before
    if abs(change) < 1e-9:
        return f'<span class="same">= {esc(_fmt(before, unit))}</span>'
    better = (change > 0) == higher_is_better
    arrow = "▲" if change > 0 else "▼"
    return (
        f'<span class="{"up" if better else "down"}">{arrow} {esc(_fmt(abs(change), unit))}</span>'
        f' <span class="muted">from {esc(_fmt(before, "%" if unit == "pts" else unit))}</span>'
    )


def _fmt(value: float, unit: str) -> str:
    return f"{value:.1f} pts" if unit == "pts" else (f"{value:.1f}%" if unit == "%" else f"{_ms(value)} ms")


# ---------------------------------------------------------------------------------------------- sections


def _header(r: ReportModel) -> str:
    s, run = r.summary, r.run
    cls = {"at parity": "ok", "not at parity": "bad"}.get(r.verdict, "none")
    bad_eps = sum(1 for e in r.endpoints if not e.at_parity)
    why = (
        unfinished_text(run.status, s.total, r.replayed)
        if not r.finished
        else f"{bad_eps} of {plural(len(r.endpoints), 'endpoint')} not at parity"
        if r.verdict == "not at parity"
        else ("every replayed exchange matched" if r.verdict == "at parity" else "no exchange was replayed")
    )
    figs = [
        ("exchanges", f"{s.total:,}", f"{r.replayed:,} replayed"),
        ("parity", _pct(r.parity), _prev_delta(r, "parity")),
        ("mismatched", f"{s.mismatched:,}", ""),
        ("failed", f"{s.failed:,}", ""),
        ("skipped", f"{s.skipped:,}", ""),
        ("noise paths", f"{r.noise_paths:,}", "differences ignored as noise"),
        ("legacy p95", f"{_ms(r.legacy_ms['p95'])} ms", f"p50 {_ms(r.legacy_ms['p50'])} ms"),
        ("candidate p95", f"{_ms(r.candidate_ms['p95'])} ms", _prev_delta(r, "p95")),
    ]
    figs += header_figures(r)
    cards = "".join(
        f'<div class="fig{fig_class(r, k)}" data-fig="{esc(k)}"><div class="v">{esc(v)}</div>'
        f'<div class="k">{esc(k)}</div><div class="d">{d if "<span" in d else esc(d)}</div></div>'
        for k, v, d in figs
    )
    captures = "".join(
        f'<div><span class="mono">{esc(c.get("name", ""))}</span>'
        f' <span class="muted mono">sha256:{esc(str(c.get("digest", ""))[:12])}</span></div>'
        for c in run.captures
    )
    backends = "".join(
        f'<div><span class="{_side_class(k)}">{esc(k)}</span> <span class="mono">{esc(v)}</span></div>'
        for k, v in run.backends.items()
    )
    prev = f"run {r.previous.run_id} ({esc(r.previous.started)})" if r.previous else esc(r.previous_note)
    meta = [
        ("backends", backends),
        ("capture", captures or '<span class="muted">none recorded</span>'),
        ("time", f"{esc(run.started)} → {esc(run.ended or 'not finished')} ({esc(run.status)})"),
        ("tool", f"paritycheck {esc(run.tool_version)}"),
        ("previous run", prev),
    ]
    meta += gate_meta(r)
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in meta)
    return (
        f'<header><h1>paritycheck run {run.id}</h1><div class="head">'
        f'<span id="verdict" class="verdict {cls}" data-verdict="{esc(r.verdict)}">'
        f"{esc(r.verdict.upper())}</span>"
        f'<span>{esc(why)}</span></div><div class="figures">{cards}</div>'
        f'<table class="meta">{rows}</table></header>'
    )


def _side_class(name: str) -> str:
    return {"legacy": "key-l", "candidate": "key-c"}.get(name, "")


def _prev_delta(r: ReportModel, what: str) -> str:
    if r.previous is None:
        return ""
    label = f"vs run {r.previous.run_id}: "
    if what == "parity":
        return label + _delta(r.parity, r.previous.parity, unit="pts", higher_is_better=True)
    return label + _delta(r.candidate_ms["p95"], r.previous.candidate_p95, unit="ms", higher_is_better=False)


def _endpoints(r: ReportModel) -> str:
    heads = [
        ("endpoint", ""),
        ("total", "n"),
        ("matched", "n"),
        ("mismatched", "n"),
        ("failed", "n"),
        ("skipped", "n"),
        ("parity", "n"),
        ("legacy p50", "n"),
        ("legacy p95", "n"),
        ("legacy p99", "n"),
        ("candidate p50", "n"),
        ("candidate p95", "n"),
        ("candidate p99", "n"),
        ("p95 ratio", "n"),
    ]
    # Two-word headings break after the first word to keep the table narrow.
    thead = "".join(f'<th class="{c}" scope="col">{esc(h).replace(" ", "<br>", 1)}</th>' for h, c in heads)
    rows = []
    # Past MAX_ROWS, endpoints at parity and with fewer exchanges are left out first.
    keep = sorted(range(len(r.endpoints)), key=lambda i: (r.endpoints[i].at_parity, -r.endpoints[i].total))
    kept = set(keep[:MAX_ROWS])
    for i, e in enumerate(r.endpoints):
        if i not in kept:
            continue
        bad = not e.at_parity
        link = f'<a href="#ep-{i}">{esc(e.endpoint)}</a>' if bad else esc(e.endpoint)
        cells = [
            f'<td class="mono" data-v="{esc(e.endpoint)}">{link}</td>',
            _n(e.total),
            _n(e.matched),
            _n(e.mismatched, cls="bad-n" if e.mismatched else ""),
            _n(e.failed, cls="warn-n" if e.failed else ""),
            _n(e.skipped),
            f'<td class="n" data-v="{_num(e.parity)}">{esc(_pct(e.parity))}</td>',
        ]
        for side, other in ((e.legacy_ms, None), (e.candidate_ms, e.legacy_ms)):
            for q in ("p50", "p95", "p99"):
                worse = other is not None and m._slower(other.get(q), side.get(q))
                value = side.get(q)
                cells.append(
                    f'<td class="n{" worse" if worse else ""}" data-v="{_num(value)}">{esc(_ms(value))}</td>'
                )
        ratio = e.ratio
        cells.append(
            f'<td class="n{" worse" if e.slower else ""}" data-v="{_num(ratio)}">'
            f"{'–' if ratio is None else f'{ratio:.2f}×'}</td>"
        )
        rows.append(
            f'<tr class="{"bad" if bad else "good"}" data-ep="{esc(e.endpoint)}"'
            f' data-bad="{int(bad or e.slower)}">{"".join(cells)}</tr>'
        )
    hidden = len(r.endpoints) - len(rows)
    few = f"Not listed: {plural(hidden, 'endpoint')} at parity with few exchanges."
    left = f'<p class="note">{few}</p>' if hidden else ""
    return (
        '<section id="endpoints"><h2>Endpoints</h2><div class="controls">'
        '<label>filter <input id="filter" type="search" placeholder="endpoint contains…"'
        ' autocomplete="off"></label>'
        '<label><input id="only-bad" type="checkbox"> only endpoints not at parity or slower</label>'
        f'<span class="muted"><span id="shown">{len(rows)}</span> of {len(rows)} shown;'
        " click a heading to sort</span></div>"
        f'<div class="scroll"><table id="endpoints-table" class="sortable"><thead><tr>{thead}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{left}"
        f'<p class="note">Latency in ms, over exchanges both backends answered. A candidate figure is'
        f" highlighted when it is at least {m.SLOWER_RATIO:g}× and {m.SLOWER_MS:g} ms above the legacy one."
        " Parity counts replayed exchanges (skipped ones excluded).</p></section>"
    )


def _n(value: int, *, cls: str = "") -> str:
    return f'<td class="n {cls}" data-v="{value}">{value:,}</td>'


def _plots(r: ReportModel) -> str:
    drawn = sorted((e for e in r.endpoints if e.samples), key=lambda e: (-e.total, e.endpoint))
    left = len(drawn) - MAX_PLOTS
    plots = "".join(_plot(e) for e in drawn[:MAX_PLOTS])
    note = f'<p class="note">{left} endpoints with fewer exchanges are not plotted.</p>' if left > 0 else ""
    return (
        '<section id="latency"><h2>Latency</h2><p class="note">Cumulative distribution of response times'
        ' per endpoint: <span class="key-l">legacy</span> and <span class="key-c">candidate</span>; a curve'
        " further right is slower. The axis stops at the larger p99.</p>"
        f'<div class="plots">{plots}</div>{note}</section>'
    )


def _plot(e: EndpointRow) -> str:
    width, height, left, right, top, bottom = 330, 170, 36, 10, 8, 24
    pw, ph = width - left - right, height - top - bottom
    top_ms = max(e.legacy_ms.get("p99") or 0.0, e.candidate_ms.get("p99") or 0.0)
    xmax = _nice(top_ms * 1.05) if top_ms > 0 else 1.0

    def x(ms: float) -> float:
        return left + min(ms, xmax) / xmax * pw

    def y(q: float) -> float:
        return top + (1 - q) * ph

    def line(values: Sequence[float]) -> str:
        return " ".join(f"{x(v):.1f},{y(q):.1f}" for v, q in zip(values, m.CURVE_POINTS, strict=False))

    grid = "".join(
        f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y(q):.1f}" y2="{y(q):.1f}"/>'
        f'<text x="{left - 4}" y="{y(q) + 3:.1f}" text-anchor="end">{label}</text>'
        for q, label in ((0.5, "p50"), (0.95, "p95"), (1.0, ""))
    )
    ticks = "".join(
        f'<line class="axis" x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top + ph}" y2="{top + ph + 4}"/>'
        f'<text x="{x(v):.1f}" y="{top + ph + 15}" text-anchor="middle">{esc(_ms(v))}</text>'
        for v in (0.0, xmax / 2, xmax)
    )
    desc = (
        f"{e.endpoint}: legacy p95 {_ms(e.legacy_ms.get('p95'))} ms,"
        f" candidate p95 {_ms(e.candidate_ms.get('p95'))} ms"
    )
    svg = (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f"<title>{esc(desc)}</title>{grid}"
        f'<path class="axis" d="M{left},{top} V{top + ph} H{left + pw}"/>{ticks}'
        f'<text x="{left + pw}" y="{height - 1}" text-anchor="end">ms</text>'
        f'<polyline class="lg" points="{line(e.legacy_curve)}"/>'
        f'<polyline class="cd" points="{line(e.candidate_curve)}"/></svg>'
    )
    ratio = e.ratio
    tag = f' <span class="bad-n">candidate {ratio:.2f}× slower at p95</span>' if e.slower and ratio else ""
    return (
        f'<div class="plot{" slow" if e.slower else ""}" data-ep="{esc(e.endpoint)}"'
        f' data-bad="{int(e.slower or not e.at_parity)}">'
        f'<div class="t mono">{esc(e.endpoint)}</div>'
        f'<div class="muted">p95 <span class="key-l">{esc(_ms(e.legacy_ms.get("p95")))}</span> vs'
        f' <span class="key-c">{esc(_ms(e.candidate_ms.get("p95")))}</span> ms'
        f" · {plural(e.samples, 'pair')}{tag}</div>"
        f"{svg}</div>"
    )


def _nice(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _differences(r: ReportModel, *, budget: int) -> str:
    """Difference groups per endpoint; each example exchange is rendered once, in a ``<template>``.

    A group holds empty slots that the script fills from the templates when the group opens, so an
    exchange that is an example of ten groups costs its size once, not ten times.
    """
    if not r.groups:
        return '<section id="differences"><h2>Differences</h2><p>No differences.</p></section>'
    index = {e.endpoint: i for i, e in enumerate(r.endpoints)}
    by_endpoint: dict[str, list[Group]] = {}
    for g in r.groups[:MAX_LISTED_GROUPS]:  # most frequent first
        by_endpoint.setdefault(g.endpoint, []).append(g)
    parts: list[str] = []
    templates: dict[int, str] = {}
    size = 0
    cut_groups = 0
    ordered = sorted(by_endpoint.items(), key=lambda kv: (-sum(g.count for g in kv[1]), kv[0]))
    for endpoint, groups in ordered:
        i = index.get(endpoint, len(index) + len(parts))
        total = sum(g.count for g in groups)
        items = []
        for n, g in enumerate(groups):
            embedded = []
            for x in g.examples:
                if x.id not in templates and size < budget:
                    templates[x.id] = f'<template id="x-{x.id}">{example_html(x, r.run.backends)}</template>'
                    size += len(templates[x.id].encode())
                if x.id in templates:
                    embedded.append(x.id)
            if len(embedded) < len(g.examples):
                cut_groups += 1
            items.append(_group(g, f"g-{i}-{n}", embedded))
        parts.append(
            f'<details class="ep" id="ep-{i}" data-ep="{esc(endpoint)}" data-bad="1">'
            f'<summary><span class="mono">{esc(endpoint)}</span> <span class="muted">· {len(groups)}'
            f" difference {noun(len(groups), 'group')}, {plural(total, 'difference')}</span></summary>"
            f"{''.join(items)}</details>"
        )
    notes = [
        f"At most {r.max_examples} example exchanges per group, for the {r.max_groups} most frequent groups;"
        f" bodies are cut at {r.body_limit:,} bytes."
    ]
    if len(r.groups) > MAX_LISTED_GROUPS:
        notes.append(f"{len(r.groups) - MAX_LISTED_GROUPS:,} rarer groups are not listed.")
    if r.groups_without_examples:
        notes.append(f"{r.groups_without_examples} less frequent groups are listed without examples.")
    if cut_groups:
        notes.append(
            f"{cut_groups} groups do not embed all their examples to keep this file under"
            f" {budget / 1_000_000:g} MB; lower max_examples, or filter the run, to see them."
        )
    return (
        '<section id="differences"><h2>Differences</h2><div class="controls">'
        '<button type="button" data-expand="1" data-target="details.ep">expand all</button>'
        '<button type="button" data-expand="0" data-target="#differences details">collapse all</button>'
        f'</div><p class="note">{esc(" ".join(notes))}</p>{"".join(parts)}{"".join(templates.values())}'
        "</section>"
    )


_RISK_LABEL = {"accepts-refused": "candidate accepts what legacy refused"}


def _group(g: Group, gid: str, embedded: Sequence[int]) -> str:
    legacy, candidate = described(g.kind, "legacy", g.legacy), described(g.kind, "candidate", g.candidate)
    values = [
        wire_html(g.wire),
        f'<span class="key-l">legacy</span> <code class="val">{esc(short(legacy))}</code>',
        f'<span class="key-c">candidate</span> <code class="val">{esc(short(candidate))}</code>',
    ]
    slots = "".join(f'<div class="slot" data-x="{i}"></div>' for i in embedded)
    missing = len(g.examples) - len(embedded)
    if missing:
        slots += f'<p class="note">{missing} examples not embedded (see the note above).</p>'
    if not g.examples:
        slots = '<p class="note">no examples embedded for this group.</p>'
    return (
        f'<details class="grp" id="{gid}" data-kind="{esc(g.kind)}" data-path="{esc(g.path)}">'
        f'<summary><span class="count">{g.count:,}×</span>'
        f'<span class="risk {esc(g.risk)}">{esc(_RISK_LABEL.get(g.risk, g.risk))}</span>'
        f'<span class="kind {esc(g.kind)}">{esc(g.kind)}</span><code>{esc(g.path)}</code>{" ".join(values)}'
        f"</summary>{slots}</details>"
    )


# ---------------------------------------------------------------------------------------------- the rest


def _reasons(r: ReportModel) -> str:
    out = []
    for title, anchor, reasons in (
        ("Failed exchanges", "failed", r.failures),
        ("Skipped exchanges", "skipped", r.skips),
    ):
        if not reasons:
            continue
        rows = "".join(
            f'<tr><td class="n">{x.count:,}</td><td class="mono">{esc(x.endpoint)}</td>'
            f"<td>{esc(x.reason)}</td></tr>"
            for x in reasons
        )
        out.append(
            f'<section id="{anchor}"><h2>{title}</h2><table><thead><tr><th class="n">count</th>'
            f"<th>endpoint</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    if r.noise:
        rows = "".join(
            f'<tr><td class="n">{g.count:,}</td><td class="mono">{esc(g.endpoint)}</td><td>{esc(g.kind)}</td>'
            f"<td><code>{esc(g.path)}</code></td></tr>"
            for g in r.noise[:200]
        )
        more = (
            f'<p class="note">{plural(len(r.noise) - 200, "more noise group")} not listed.</p>'
            if len(r.noise) > 200
            else ""
        )
        out.append(
            '<section id="noise"><h2>Noise</h2><p class="note">Differences found but classed as noise'
            " (the legacy backend disagrees with itself there); they do not count as mismatches.</p>"
            '<table><thead><tr><th class="n">count</th><th>endpoint</th><th>kind</th><th>path</th>'
            "</tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}</section>"
        )
    return "".join(out)


def _footer(r: ReportModel) -> str:
    return (
        f"<footer>Generated {esc(r.generated)} by paritycheck {esc(r.run.tool_version)} from run {r.run.id}."
        " This file is self-contained and loads nothing from the network. Secrets were redacted before"
        " storage.</footer>"
    )


def write_reports(
    store: Store,
    run_id: int | None = None,
    *,
    html_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    max_examples: int = m.DEFAULT_MAX_EXAMPLES,
) -> list[Path]:
    """Write any of the three reports of one run, reading the store once; return the paths written."""
    from paritycheck.report.junit import render_junit
    from paritycheck.report.markdown import render_markdown

    report = m.build(store, run_id, max_examples=max_examples if html_path is not None else 0)
    written = []
    for target, render in (
        (html_path, render_html),
        (markdown_path, render_markdown),
        (junit_path, render_junit),
    ):
        if target is not None:
            out = Path(target)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(render(report), encoding="utf-8")
            written.append(out)
    return written
