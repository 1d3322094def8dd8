"""The report's latency section, as the gate sees latency: after the findings, one cumulative plot per
endpoint with enough pairs for the gate to judge, a red frame only where the gate's statistics show the
candidate slower, and the endpoints with too few pairs folded into one line."""

from __future__ import annotations

from collections.abc import Sequence

from paritycheck.common.text import plural
from paritycheck.report import model as m
from paritycheck.report.html_exchange import esc
from paritycheck.report.html_exchange import ms as _ms
from paritycheck.report.model import EndpointRow, ReportModel

__all__ = ["MAX_PLOTS", "latency_html"]

#: Latency plots drawn (endpoints with the most exchanges first).
MAX_PLOTS = 60
#: Endpoints named in the folded line of those with too few pairs.
_FOLDED_NAMED = 12


def latency_html(r: ReportModel) -> str:
    """Plots of the judged endpoints, and one line for the endpoints with too few pairs."""
    answered = [e for e in r.endpoints if e.samples]
    drawn = sorted((e for e in answered if e.judged), key=lambda e: (-e.total, e.endpoint))
    few = sorted((e for e in answered if not e.judged), key=lambda e: (-e.samples, e.endpoint))
    left = len(drawn) - MAX_PLOTS
    plots = "".join(_plot(e) for e in drawn[:MAX_PLOTS])
    notes = []
    if left > 0:
        notes.append(f"{plural(left, 'endpoint')} with fewer exchanges are not plotted.")
    if few:
        named = ", ".join(f"{e.endpoint} ({e.samples})" for e in few[:_FOLDED_NAMED])
        more = f" and {len(few) - _FOLDED_NAMED} more" if len(few) > _FOLDED_NAMED else ""
        notes.append(
            f"{plural(len(few), 'endpoint')} with fewer than {r.min_samples} pairs each, too few for the"
            f" gate to judge, not plotted: {named}{more}."
        )
    folded = "".join(f'<p class="note folded">{esc(n)}</p>' for n in notes)
    slower = len(r.slower_endpoints)
    verdict = (
        f"{plural(slower, 'endpoint')} slower as the gate would judge it: p95 ratio interval above 1"
        if slower
        else "No endpoint is slower as the gate would judge it (enough pairs, a p95 ratio interval above 1)"
    )
    return (
        '<section id="latency"><h2>Latency</h2>'
        f'<p class="note">{esc(verdict)}. Cumulative distribution of response times per endpoint with'
        f' at least {r.min_samples} pairs: <span class="key-l">legacy</span> and'
        ' <span class="key-c">candidate</span>; a curve further right is slower. The axis stops at the'
        f' larger p99.</p><div class="plots">{plots}</div>{folded}</section>'
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
    ratio, interval = e.ratio, e.interval
    tag = ""
    if e.slower and ratio and interval:
        tag = (
            f' <span class="bad-n">candidate {ratio:.2f}× slower at p95'
            f" (interval {interval[0]:.2f}–{interval[1]:.2f}×)</span>"
        )
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
