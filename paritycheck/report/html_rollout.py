"""The report's rollout section: a timeline (inline SVG) and the cohorts' canary analysis.

The timeline draws each step as a band over time, labelled with its number and traffic share, and per
window (a run of the step) three panels sharing the time axis: parity, the p95 ratio, and each side's
error rate, with the step's criteria as dashed lines across its band and the verdicts given as marks
along the top. Everything is drawn server-side into the page: no script, no external asset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from paritycheck.report.html_exchange import esc
from paritycheck.rollout import Timeline, WindowPoint

__all__ = ["rollout_html"]

_W, _LEFT, _RIGHT, _TOP, _PANEL, _GAP, _AXIS = 920, 64, 16, 30, 92, 16, 28
#: (title, unit, the plan's criterion drawn as a line, the series: (css class, value of a window)).
_PANELS: list[tuple[str, str, str, list[tuple[str, Callable[[WindowPoint], float | None]]]]] = [
    ("parity", "%", "min_parity", [("par", lambda p: p.parity)]),
    ("p95 ratio", "×", "max_p95_ratio", [("ratio", lambda p: p.p95_ratio)]),
    (
        "error rate",
        "%",
        "max_error_rate",
        [("lg", lambda p: p.legacy_error_rate), ("cd", lambda p: p.candidate_error_rate)],
    ),
]
_DECISION_CLASS = {"advance": "adv", "hold": "hold", "rollback": "rb"}


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _range(values: Sequence[float], unit: str) -> tuple[float, float]:
    """The panel's value range: parity zooms in on its top, ratios centre on 1, rates start at 0."""
    if unit == "%" and values and min(values) > 50:  # parity
        low = min(values)
        return max(0.0, min(low - (100 - low) * 0.25, 99.0)), 100.0
    high = max(values, default=0.0)
    if unit == "×":
        return min(0.8, min(values, default=1.0)), max(1.3, high * 1.1)
    return 0.0, max(high * 1.15, 1.0)


def _svg(t: Timeline) -> str:
    start, end = t.start.timestamp(), max(t.end.timestamp(), t.start.timestamp() + 1)
    plot_w = _W - _LEFT - _RIGHT
    height = _TOP + len(_PANELS) * (_PANEL + _GAP) + _AXIS

    def x(moment: dt.datetime) -> float:
        return _LEFT + (min(max(moment.timestamp(), start), end) - start) / (end - start) * plot_w

    parts = [_bands(t, x, height)]
    for i, panel in enumerate(_PANELS):
        parts.append(_panel(t, panel, x, _TOP + i * (_PANEL + _GAP)))
    parts.append(_marks(t, x))
    parts.append(_time_axis(t, x, height - _AXIS + 4))
    desc = (
        f"rollout from {t.start:%Y-%m-%d %H:%M} to {t.end:%Y-%m-%d %H:%M} UTC: "
        + ", ".join(f"step {b.number} ({b.label})" for b in t.bands)
        + f"; {len(t.points)} windows"
    )
    return (
        f'<svg id="rollout-timeline" class="tl" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}"'
        f' role="img"><title>{esc(desc)}</title>{"".join(parts)}</svg>'
    )


def _bands(t: Timeline, x: Callable[[dt.datetime], float], height: int) -> str:
    out = []
    for i, b in enumerate(t.bands):
        x0, x1 = x(b.start), x(b.end)
        out.append(
            f'<rect class="band band{i % 2}" data-step="{b.number}" x="{x0:.1f}" y="{_TOP - 18}"'
            f' width="{max(x1 - x0, 1):.1f}" height="{height - _TOP - _AXIS + 18}"/>'
            f'<text class="bandlabel" x="{x0 + 4:.1f}" y="{_TOP - 6}">{b.number} · {esc(b.label)}</text>'
        )
    return "".join(out)


def _window_x(p: WindowPoint, x: Callable[[dt.datetime], float]) -> float:
    """A window is drawn where it began: that is what places it in its step's band."""
    return x(_moment(p.started))


def _panel(
    t: Timeline,
    panel: tuple[str, str, str, list[tuple[str, Callable[[WindowPoint], float | None]]]],
    x: Callable[[dt.datetime], float],
    top: float,
) -> str:
    title, unit, key, series = panel
    values = [v for _, f in series for p in t.points if (v := f(p)) is not None]
    limits = [float(b.plan[key]) for b in t.bands if b.plan.get(key) is not None]
    low, high = _range([*values, *limits], unit)

    def y(v: float) -> float:
        return top + _PANEL - (min(max(v, low), high) - low) / (high - low or 1) * _PANEL

    out = [
        f'<path class="axis" d="M{_LEFT},{top} V{top + _PANEL} H{_W - _RIGHT}"/>',
        f'<text x="{_LEFT - 6}" y="{top + 4:.1f}" text-anchor="end">{high:.4g}{unit}</text>',
        f'<text x="{_LEFT - 6}" y="{top + _PANEL:.1f}" text-anchor="end">{low:.4g}{unit}</text>',
        f'<text class="ptitle" x="{_LEFT + 4}" y="{top + 11}">{esc(title)}</text>',
    ]
    for b in t.bands:
        limit = b.plan.get(key)
        if limit is not None:
            yy = y(float(limit))
            out.append(
                f'<line class="crit" data-criterion="{esc(key)}" data-step="{b.number}" x1="{x(b.start):.1f}"'
                f' x2="{x(b.end):.1f}" y1="{yy:.1f}" y2="{yy:.1f}"><title>{esc(key)} {limit:g}{unit}'
                f" (step {b.number})</title></line>"
            )
    for cls, value in series:
        pts = [(_window_x(p, x), y(v), p, v) for p in t.points if (v := value(p)) is not None]
        if len(pts) > 1:
            out.append(
                f'<polyline class="s-{cls}" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in pts)}"/>'
            )
        out += [
            f'<circle class="d-{cls}" data-run="{p.run_id}" cx="{a:.1f}" cy="{b:.1f}" r="2.5">'
            f"<title>run {p.run_id}: {title} {v:.4g}{unit}</title></circle>"
            for a, b, p, v in pts
        ]
    return "".join(out)


def _marks(t: Timeline, x: Callable[[dt.datetime], float]) -> str:
    return "".join(
        f'<path class="mark {_DECISION_CLASS.get(m.decision, "hold")}" data-decision="{esc(m.decision)}"'
        f' d="M{x(m.at):.1f},{_TOP - 20} l-4,-7 h8 z"><title>{esc(m.headline)}</title></path>'
        for m in t.marks
    )


def _time_axis(t: Timeline, x: Callable[[dt.datetime], float], y: float) -> str:
    span = t.end - t.start
    ticks = [t.start + span * i / 4 for i in range(5)]
    fmt = "%H:%M:%S" if span < dt.timedelta(hours=1) else "%m-%d %H:%M"
    anchors = ("start", "middle", "middle", "middle", "end")
    return "".join(
        f'<text x="{x(tick):.1f}" y="{y + 10:.1f}" text-anchor="{a}">{tick:{fmt}}</text>'
        for tick, a in zip(ticks, anchors, strict=True)
    )


def _canary_row(m: dict[str, Any]) -> str:
    p = "" if m["p_adjusted"] is None else f"{m['p_adjusted']:.2g}"
    verdict = esc(m["verdict"])
    return (
        f'<tr class="{"bad" if m["verdict"] == "high" else "good"}">'
        f'<td class="mono">{esc(m["endpoint"])}</td><td>{esc(m["metric"])}</td>'
        f'<td class="n">{_value(m["legacy"], m["unit"])}</td>'
        f'<td class="n">{_value(m["candidate"], m["unit"])}</td><td class="n">{p}</td>'
        f'<td data-verdict="{verdict}">{verdict}</td><td>{esc(m["note"])}</td></tr>'
    )


def _canary(canary: dict[str, Any]) -> str:
    rows = "".join(_canary_row(m) for m in canary.get("metrics", [])[:200])
    share = 100 * float(canary.get("candidate_share", 0.0))
    verdict = esc(canary["verdict"])
    return (
        f'<h3 id="canary">Cohorts: <span data-verdict="{verdict}">{verdict}</span></h3>'
        f'<p class="note">Split traffic read from access logs: {int(canary["candidate_requests"]):,}'
        f" candidate and {int(canary['legacy_requests']):,} legacy requests (candidate share {share:.1f}%)."
        " Error rates by Fisher's exact test, latency by the Mann-Whitney rank test and the share slower"
        " than legacy's p95; p-values adjusted by Holm over every metric and endpoint; a difference counts"
        " only past the minimum effect (docs/rollout.md).</p>"
        '<div class="scroll"><table id="canary-table"><thead><tr><th>endpoint</th><th>metric</th>'
        '<th class="n">legacy</th><th class="n">candidate</th><th class="n">p (Holm)</th><th>verdict</th>'
        f"<th>note</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _value(side: dict[str, Any], unit: str) -> str:
    value = side.get("value")
    shown = "–" if value is None else f"{value:.3g} {unit}"
    return f'{esc(shown)} <span class="muted">n={int(side.get("n", 0)):,}</span>'


def rollout_html(t: Timeline | None) -> str:
    """The rollout section, or nothing when no rollout step was recorded in the store."""
    if t is None:
        return ""
    last = t.bands[-1]
    decision = f"; last verdict: {t.marks[-1].headline}" if t.marks else ""
    left = f" {t.left_out} older windows are not drawn." if t.left_out else ""
    return (
        '<section id="rollout"><h2>Rollout</h2>'
        f"<p>Step {last.number} ({esc(last.label)}, {last.share:g}% of traffic) began"
        f" {last.start:%Y-%m-%d %H:%M:%S} UTC{esc(decision)}.</p>"
        f'<div class="scroll">{_svg(t)}</div>'
        '<p class="note">Steps as bands over time; per window (a run of the step): parity, the p95 ratio'
        " (candidate over legacy, all endpoints pooled) and the error rate of"
        ' <span class="key-l">legacy</span> and <span class="key-c">candidate</span> (5xx or no answer).'
        " Dashed lines: each step's criteria."
        f" Triangles: the verdicts given (green advance, amber hold, red roll back).{left}</p>"
        f"{_canary(t.canary) if t.canary else ''}</section>"
    )
