"""The report's latency section: per endpoint, each backend's cumulative distribution of response
times as an inline SVG plot (no script, no external asset)."""

from __future__ import annotations

from collections.abc import Sequence

from paritycheck.common.text import plural
from paritycheck.report import model as m
from paritycheck.report.html_exchange import esc
from paritycheck.report.html_exchange import ms as _ms
from paritycheck.report.model import EndpointRow

__all__ = ["MAX_PLOTS", "latency_html"]

#: Latency plots drawn (endpoints with the most exchanges first).
MAX_PLOTS = 60


def latency_html(endpoints: Sequence[EndpointRow]) -> str:
    """The latency section: one plot per endpoint with pairs (the most exchanged first)."""
    drawn = sorted((e for e in endpoints if e.samples), key=lambda e: (-e.total, e.endpoint))
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
