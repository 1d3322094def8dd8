"""One example exchange as HTML: the request, the differences, both answers normalised and raw.

Every value passes through :func:`esc`; the side-by-side view highlights each differing path (and all
that lies inside it) in pretty-printed JSON, the differing headers and a differing status.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from paritycheck.common.endpoints import split_target
from paritycheck.common.jsonpath import format_path
from paritycheck.compare import described
from paritycheck.models import Difference, Headers
from paritycheck.report.model import Body, Example, Side

#: Body lines shown in the side-by-side view before the rest is cut.
MAX_JSON_LINES = 400


def esc(value: Any) -> str:
    """Escape any value for element text or a double-quoted attribute."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def ms(value: float | None) -> str:
    """A latency for display."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wire_html(wire: Mapping[str, str]) -> str:
    """A group's wire paths (:func:`paritycheck.compare.wire_paths`) after its normalised path."""
    return "".join(
        f'<span class="wire">{s} on the wire <code>{esc(p)}</code></span>' for s, p in wire.items()
    )


def _wire(d: Difference) -> str:
    """Where each side wrote the path, when normalisation renamed it (issue 12.7)."""
    if d.legacy_path is None and d.candidate_path is None:
        return ""
    a, b = d.legacy_path or d.path, d.candidate_path or d.path
    if a == b:
        return f" (on the wire <code>{esc(a)}</code>)"
    return f" (on the wire: legacy <code>{esc(a)}</code>, candidate <code>{esc(b)}</code>)"


def called_urls(url: str, backends: Mapping[str, str]) -> list[tuple[str, str]]:
    """The URL each backend was sent for recorded (redacted) ``url``: its base URL plus the target.

    This mirrors ``replay.transport.join_url`` (the report layer may not import the replay stage).
    """
    path, query = split_target(url)
    target = path + (f"?{query}" if query else "")
    if not target.startswith("/"):
        target = "/" + target
    return [(side, base.rstrip("/") + target) for side, base in backends.items() if base]


def example_html(x: Example, backends: Mapping[str, str] | None = None) -> str:
    """One exchange: request, differences, the two normalised answers side by side, the raw answers.

    With the run's ``backends``, the heading shows the URL actually called on each backend and the
    recorded URL beneath it (the recorded host is never contacted).
    """
    diffs = "".join(
        f'<li><span class="kind {esc(d.kind)}">{esc(d.kind)}</span> <code>{esc(d.path)}</code>{_wire(d)}'
        f" legacy <code>{esc(short(described(d.kind, 'legacy', d.legacy), 200))}</code>"
        f" candidate <code>{esc(short(described(d.kind, 'candidate', d.candidate), 200))}</code></li>"
        for d in x.differences[:50]
    )
    more = len(x.differences) - 50
    if more > 0:
        diffs += f"<li>… {more} more</li>"
    request = (
        f"<details><summary>request headers and body</summary>{_headers(x.request_headers, set())}"
        f"{_raw_body(x.request_body)}</details>"
    )
    return (
        f'<div class="example" data-exchange="{x.id}">'
        f"{_heading(x, backends)}"
        f'<div class="muted">exchange {x.id} · {esc(x.source)} entry {x.entry} · {esc(x.outcome)}</div>'
        f'{request}<ul class="diffs-list">{diffs}</ul>'
        f'<div class="sbs">{_side_view("legacy", x.legacy, x.differences)}'
        f"{_side_view('candidate', x.candidate, x.differences)}</div>"
        f'<details><summary>raw responses</summary><div class="sbs">{_raw_side("legacy", x.legacy)}'
        f"{_raw_side('candidate', x.candidate)}</div></details></div>"
    )


def _heading(x: Example, backends: Mapping[str, str] | None) -> str:
    called = called_urls(x.url, backends) if backends else []
    if not called:
        return f'<h4 class="mono">{esc(x.method)} {esc(x.url)}</h4>'
    lines = "".join(
        f'<div class="mono called">called on {esc(side)}: {esc(x.method)} {esc(u)}</div>'
        for side, u in called
    )
    path, query = split_target(x.url)
    target = path + (f"?{query}" if query else "")
    return f'<h4 class="mono">{esc(x.method)} {esc(target)}</h4>{lines}' + (
        f'<div class="muted">recorded as {esc(x.method)} {esc(x.url)}</div>'
    )


def _marks(differences: Iterable[Difference], side: str) -> tuple[set[str], set[str], bool]:
    """Body paths, header names and whether the status differ, as seen from ``side``."""
    paths: set[str] = set()
    names: set[str] = set()
    status = False
    # Paths of what only the other side has point into the other side's body (events by their index).
    skip = ("added", "event-extra") if side == "legacy" else ("removed", "event-missing")
    for d in differences:
        if d.kind in skip:
            continue
        if d.path == "status" or d.kind == "status":
            status = True
        elif d.path.startswith("header:"):
            names.add(d.path[7:].lower())
        else:
            paths.add(d.path)
    return paths, names, status


def _side_view(name: str, side: Side | None, differences: Sequence[Difference]) -> str:
    cls = "key-l" if name == "legacy" else "key-c"
    if side is None:
        return f'<div><div class="hl {cls}">{name}</div><p class="muted">no answer</p></div>'
    paths, names, status = _marks(differences, name)
    head = (
        f'<div class="hl"><span class="{cls}">{name}</span> <span class="st{" m" if status else ""}">'
        f"{side.status}</span> · {esc(ms(side.ms))} ms</div>"
    )
    if side.error:
        return f'<div>{head}<pre class="bad-n">{esc(side.error)}</pre></div>'
    shown = [(k, v) for k, v in side.headers if k in names]
    hdrs = _headers(tuple(shown), names) if shown else ""
    body = side.body
    if side.has_normalised:
        text = json_html(side.normalised, paths)
        content = f'<div class="muted">normalised body</div><pre class="json">{text}</pre>'
    else:
        whole = bool(paths)
        content = _raw_body(body, marked=whole)
    return f"<div>{head}{hdrs}{content}</div>"


def _raw_side(name: str, side: Side | None) -> str:
    cls = "key-l" if name == "legacy" else "key-c"
    if side is None:
        return f'<div><div class="hl {cls}">{name}</div><p class="muted">no answer</p></div>'
    error = f'<pre class="bad-n">{esc(side.error)}</pre>' if side.error else ""
    return (
        f'<div><div class="hl"><span class="{cls}">{name}</span> HTTP {side.status}</div>{error}'
        f"{_headers(side.headers, set())}{_raw_body(side.body)}</div>"
    )


def _headers(headers: Headers, marked: set[str]) -> str:
    if not headers:
        return '<p class="muted">no headers</p>'
    rows = "".join(
        f"<tr{' class=m' if k in marked else ''}><td>{esc(k)}:</td><td>{esc(v)}</td></tr>" for k, v in headers
    )
    return f'<table class="hdrs">{rows}</table>'


def _raw_body(body: Body | None, *, marked: bool = False) -> str:
    if body is None:
        return '<p class="muted">no body</p>'
    ctype = f", {body.content_type}" if body.content_type else ""
    if body.binary:
        return f'<p class="muted">binary body, {body.size:,} bytes{esc(ctype)}</p>'
    cut = f" (first {len(body.text.encode()):,} shown)" if body.cut else ""
    text = f'<span class="m">{esc(body.text)}</span>' if marked else esc(body.text)
    return f'<div class="muted">{body.size:,} bytes{esc(ctype)}{esc(cut)}</div><pre>{text}</pre>'


def json_html(value: Any, marked: set[str]) -> str:
    """Pretty JSON with the lines of every ``marked`` path (and everything inside it) highlighted."""
    lines: list[str] = []

    def emit(indent: int, text: str, mark: bool) -> None:
        if len(lines) < MAX_JSON_LINES:
            line = "  " * indent + text
            lines.append(f'<span class="m">{esc(line)}</span>' if mark else esc(line))

    def walk(
        node: Any, parts: tuple[str | int, ...], indent: int, prefix: str, comma: str, inherited: bool
    ) -> None:
        if len(lines) >= MAX_JSON_LINES:
            return
        mark = inherited or format_path(parts) in marked
        if isinstance(node, dict) and node:
            emit(indent, prefix + "{", mark)
            last = len(node) - 1
            for n, (k, v) in enumerate(node.items()):
                walk(
                    v,
                    (*parts, k),
                    indent + 1,
                    json.dumps(k, ensure_ascii=False) + ": ",
                    "," if n < last else "",
                    mark,
                )
            emit(indent, "}" + comma, mark)
        elif isinstance(node, list) and node:
            emit(indent, prefix + "[", mark)
            for n, v in enumerate(node):
                walk(v, (*parts, n), indent + 1, "", "," if n < len(node) - 1 else "", mark)
            emit(indent, "]" + comma, mark)
        else:
            emit(indent, prefix + json.dumps(node, ensure_ascii=False, default=str) + comma, mark)

    walk(value, (), 0, "", "", "$" in marked)
    text = "\n".join(lines)
    if len(lines) >= MAX_JSON_LINES:
        text += f"\n… cut at {MAX_JSON_LINES} lines (see the raw response)"
    return text
