"""The Contract section of the HTML report (per operation, each side's violations and the coverage), and
the header's rows about the run, its contract check and its gate verdict.

Read from the checks stored with the run (``replay --contract`` or ``paritycheck contract``); a run
without any gets no section at all. Every value passes through :func:`esc` into element text or a
quoted attribute; highlighting uses classes only (the page's CSP blocks ``style=`` attributes).
"""

from __future__ import annotations

from paritycheck.common.text import plural
from paritycheck.report.html_exchange import esc, short
from paritycheck.report.model import ReportModel
from paritycheck.report.model_contract import MAX_COVERAGE, ContractOperation, ContractSection

_MODES = {"raw": "raw wire format", "normalised": "normalised through the run's [normalise] rules"}


def header_figures(r: ReportModel) -> list[tuple[str, str, str]]:
    """The header figures (name, value, note) for the latest contract check and the recorded gate."""
    figs = []
    if r.contracts:
        c = r.contracts[0]
        figs.append(("contract", f"{c.candidate_only:,}", f"candidate-only requests ({c.mode} check)"))
    if r.gate is not None:
        n = len(r.gate.failed)
        figs.append(("gate", r.gate.verdict.upper(), f"{n} {'criterion' if n == 1 else 'criteria'} failed"))
    return figs


def fig_class(r: ReportModel, key: str) -> str:
    """A figure's extra class: the gate verdict's colour; red for candidate-only contract violations."""
    if key == "gate" and r.gate is not None:
        return " pass" if r.gate.passed else " fail"
    if key == "contract" and r.contracts and r.contracts[0].candidate_only:
        return " fail"
    return ""


def run_meta(r: ReportModel) -> list[tuple[str, str]]:
    """The header's rows (HTML) about the run: backends, captures, time, tool and the previous run."""
    run = r.run
    # A live window's traffic has a name only: no file, so no digest to show.
    captures = "".join(
        f'<div><span class="mono">{esc(str(c.get("name", "")))}</span>'
        + (f' <span class="muted mono">sha256:{esc(str(c["digest"])[:12])}</span>' if c.get("digest") else "")
        + "</div>"
        for c in run.captures
    )
    sides = {"legacy": "key-l", "candidate": "key-c"}
    backends = "".join(
        f'<div><span class="{sides.get(k, "")}">{esc(k)}</span> <span class="mono">{esc(v)}</span></div>'
        for k, v in run.backends.items()
    )
    # only a comparable run (same captures and rules) is previous; else why there is none
    prev = f"run {r.previous.run_id} ({esc(r.previous.started)})" if r.previous else esc(r.previous_note)
    return [
        ("backends", backends),
        ("capture", captures or '<span class="muted">none recorded</span>'),
        ("time", f"{esc(run.started)} → {esc(run.ended or 'not finished')} ({esc(run.status)})"),
        ("tool", f"paritycheck {esc(run.tool_version)}"),
        ("previous run", prev),
    ]


def gate_meta(r: ReportModel) -> list[tuple[str, str]]:
    """The header's ``gate`` row (HTML): the recorded verdict and the criteria that failed."""
    if r.gate is None:
        return []
    failed = list(r.gate.failed[:10])
    if len(r.gate.failed) > 10:
        failed.append(f"… {len(r.gate.failed) - 10} more")
    text = r.gate.verdict.upper() + (": " + ", ".join(failed) if failed else "")
    return [("gate", f'{esc(text)} <span class="muted">(recorded by paritycheck gate)</span>')]


def contract_html(sections: tuple[ContractSection, ...]) -> str:
    """The whole ``<section id="contract">``, or an empty string when the run has no contract check."""
    if not sections:
        return ""
    parts = [_check(c, n) for n, c in enumerate(sections)]
    note = (
        '<p class="note">Responses validated against the OpenAPI description, both backends side by side.'
        " <em>candidate only</em> counts requests where the candidate broke the contract and legacy"
        " honoured it; those rows are highlighted.</p>"
    )
    return f'<section id="contract"><h2>Contract</h2>{note}{"".join(parts)}</section>'


def _check(c: ContractSection, n: int) -> str:
    name = f"{c.title} ({c.spec})" if c.title else c.spec
    status_cls = "ok" if c.ok else "bad"
    summary = (
        f'<div class="chead" data-check="{c.check_id}" data-mode="{esc(c.mode)}">'
        f'<span class="cstate {status_cls}">{"HONOURED" if c.ok else "VIOLATED"}</span>'
        f' <span class="mono">{esc(name)}</span>'
        f' <span class="mode">{esc(c.mode)}</span>'
        f' <span class="muted">{esc(_MODES.get(c.mode, c.mode))} · sha256:{esc(c.digest[:12])}'
        f" · checked {esc(c.checked)}</span></div>"
        f'<p class="figline">{len(c.exercised)} of {plural(len(c.operations), "operation")} exercised ·'
        f' <span class="key-l">legacy</span> {c.legacy_violations:,} violations ·'
        f' <span class="key-c">candidate</span> {c.candidate_violations:,} violations ·'
        f' <span class="{"bad-n" if c.candidate_only else ""}">{c.candidate_only:,} candidate-only'
        f" requests</span> · {len(c.undocumented):,} undocumented</p>"
    )
    if not c.complete:
        summary += (
            '<p class="note">This check did not finish: the figures come from the stored violations'
            " (at most 200 of each kind), and coverage is unknown.</p>"
        )
    rows = []
    details = []
    for i, op in enumerate(c.exercised):
        anchor = f"cv-{n}-{i}"
        only = op.candidate_only > 0
        label = (
            f'<a href="#{anchor}">{esc(op.operation)}</a>' if op.violations or op.more else esc(op.operation)
        )
        rows.append(
            f'<tr class="{"bad conly" if only else ("warn" if op.legacy else "good")}"'
            f' data-op="{esc(op.operation)}" data-conly="{int(only)}">'
            f'<td class="mono" data-v="{esc(op.operation)}">{label}</td>'
            f'<td class="n" data-v="{"" if op.seen is None else op.seen}">{_count(op.seen)}</td>'
            f'<td class="n{" warn-n" if op.legacy else ""}" data-v="{op.legacy}">{op.legacy:,}</td>'
            f'<td class="n{" worse" if only else ""}" data-v="{op.candidate}">{op.candidate:,}</td>'
            f'<td class="n{" worse" if only else ""}" data-v="{op.candidate_only}">{op.candidate_only:,}</td>'
            "</tr>"
        )
        if op.violations:
            details.append(_violations(op, anchor))
    table = (
        '<div class="scroll"><table class="sortable contract-table"><thead><tr>'
        '<th scope="col">operation</th><th class="n" scope="col">seen</th>'
        '<th class="n" scope="col">legacy<br>violations</th>'
        '<th class="n" scope="col">candidate<br>violations</th>'
        '<th class="n" scope="col">candidate<br>only</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        if rows
        else '<p class="note">No request matched a documented operation.</p>'
    )
    found = f"<h3>Violations</h3>{''.join(details)}" if details else ""
    return f'<div class="check">{summary}{table}{found}{_coverage(c)}</div>'


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


_SIDE_CLASS = {"legacy": "key-l", "candidate": "key-c"}


def _violations(op: ContractOperation, anchor: str) -> str:
    rows = "".join(
        f'<tr class="{"cside" if v.side == "candidate" else "lside"}">'
        f'<td class="n">{v.count:,}×</td>'
        f'<td><span class="{_SIDE_CLASS.get(v.side, "")}">{esc(v.side)}</span></td>'
        f'<td class="n">{v.status}</td><td><code>{esc(v.path)}</code></td>'
        f'<td><span class="kind">{esc(v.keyword)}</span></td><td>{esc(short(v.message, 300))}</td>'
        f'<td><code class="val">{esc(short(v.value, 120))}</code></td></tr>'
        for v in op.violations
    )
    more = (
        f'<p class="note">{op.more:,} more distinct violations not listed (the most frequent are shown).</p>'
        if op.more
        else ""
    )
    only = f", {op.candidate_only:,} candidate only" if op.candidate_only else ""
    return (
        f'<details class="cv" id="{anchor}" data-op="{esc(op.operation)}">'
        f'<summary><span class="mono">{esc(op.operation)}</span> <span class="muted">·'
        f" legacy {op.legacy:,}, candidate {op.candidate:,} violations{esc(only)}</span></summary>"
        '<div class="scroll"><table class="violations"><thead><tr><th class="n">count</th><th>side</th>'
        '<th class="n">status</th><th>path</th><th>keyword</th><th>message</th><th>value</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{more}</details>"
    )


def _coverage(c: ContractSection) -> str:
    if not c.complete:
        return ""
    parts = []
    for title, items, empty in (
        ("Undocumented requests", c.undocumented, "every request matched a documented operation"),
        (
            "Unexercised operations and status codes",
            c.unexercised,
            "every documented operation and code was exercised",
        ),
    ):
        if not items:
            parts.append(f'<p class="note">{esc(title)}: none ({esc(empty)}).</p>')
            continue
        shown = "".join(f"<li><code>{esc(x)}</code></li>" for x in items[:MAX_COVERAGE])
        more = f"<li>… {len(items) - MAX_COVERAGE:,} more</li>" if len(items) > MAX_COVERAGE else ""
        parts.append(
            f'<details class="cov"><summary>{esc(title)} <span class="muted">· {len(items):,}</span>'
            f'</summary><ul class="cov-list">{shown}{more}</ul></details>'
        )
    return f'<div class="coverage">{"".join(parts)}</div>'
