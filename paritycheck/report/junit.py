"""JUnit XML for CI test reporters (GitLab, Jenkins, GitHub actions that read JUnit).

First a ``<testsuite>`` of the run's findings, riskiest first: one failing ``<testcase>`` per finding,
its grade as the failure type, its title as the message, and its groups, example and ``accept`` command
as the text. Then one ``<testsuite>`` per run and one ``<testcase>`` per endpoint: a ``<failure>``
listing the grouped differences when the endpoint has mismatched exchanges, an ``<error>`` with the
reasons when some failed, ``<skipped>`` when none was replayed. Characters XML 1.0 forbids (from binary
bodies) are replaced, so the file always parses. A run that did not finish (interrupted, crashed,
capture error) gets one more testcase, ``run status``, failing with how much was done.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from paritycheck.common.text import plural
from paritycheck.compare import described, on_the_wire
from paritycheck.findings import Finding
from paritycheck.report import model as m
from paritycheck.report.model import EndpointRow, ReportModel
from paritycheck.store import Store

#: Difference groups listed per failing testcase; the rest are counted.
MAX_GROUPS = 50
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _text(value: str) -> str:
    return escape(_clean(value))


def _attr(value: Any) -> str:
    return quoteattr(_clean(str(value)), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _value(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wire(g: m.Group) -> str:
    return f" ({on_the_wire(g.wire)})" if g.wire else ""


def _seconds(start: str | None, end: str | None) -> float:
    try:
        if start and end:
            return max(
                0.0, (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
            )
    except ValueError:
        pass
    return 0.0


def render_junit(report: ReportModel, *, max_groups: int = MAX_GROUPS) -> str:
    """The JUnit XML document of ``report``."""
    run = report.run
    groups: dict[str, list[m.Group]] = {}
    for g in report.groups:
        groups.setdefault(g.endpoint, []).append(g)
    cases = [_case(e, groups.get(e.endpoint, []), report, max_groups) for e in report.endpoints]
    tests = len(report.endpoints)
    failures = sum(1 for e in report.endpoints if e.mismatched)
    if not report.finished:  # a run that did not finish fails CI even when every exchange so far matched
        message = m.unfinished_text(run.status, report.summary.total, report.replayed)
        cases.insert(
            0,
            '<testcase classname="paritycheck.run" name="run status">'
            f"<failure message={_attr(message)} type={_attr(run.status)}/></testcase>\n",
        )
        tests += 1
        failures += 1
    errors = sum(1 for e in report.endpoints if e.failed)
    skipped = sum(1 for e in report.endpoints if e.matched + e.mismatched + e.failed == 0)
    seconds = f"{_seconds(run.started, run.ended):.3f}"
    counts = f'tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{seconds}"'
    props = [
        ("run_id", run.id),
        ("status", run.status),
        ("tool_version", run.tool_version),
        ("parity", "" if report.parity is None else f"{report.parity:.3f}"),
        *((f"backend.{k}", v) for k, v in run.backends.items()),
        *((f"capture.{i}", c.get("name", "")) for i, c in enumerate(run.captures)),
    ]
    properties = "".join(f"<property name={_attr(k)} value={_attr(v)}/>" for k, v in props)
    timestamp = run.started[:19] if run.started else ""
    found = [_finding_case(n, f, run.id) for n, f in enumerate(report.findings.items, 1)]
    f_counts = f'tests="{len(found)}" failures="{len(found)}" errors="0" skipped="0" time="0"'
    all_counts = (
        f'tests="{tests + len(found)}" failures="{failures + len(found)}" errors="{errors}"'
        f' skipped="{skipped}" time="{seconds}"'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="paritycheck" {all_counts}>\n'
        f"<testsuite name={_attr(f'paritycheck run {run.id} findings')} {f_counts}"
        f" timestamp={_attr(timestamp)}>\n" + "".join(found) + "</testsuite>\n"
        f"<testsuite name={_attr(f'paritycheck run {run.id}')} {counts} timestamp={_attr(timestamp)}>\n"
        f"<properties>{properties}</properties>\n" + "".join(cases) + "</testsuite>\n</testsuites>\n"
    )


def _finding_case(n: int, f: Finding, run_id: int) -> str:
    """One finding as a failing testcase: grade as the type, title as the message, evidence as text."""
    lines = [f"why: {f.why}", f"example: {f.example_text()}", f"accept: {f.accept_command()}", "groups:"]
    for g in f.members[:MAX_GROUPS]:
        role = " (with the status change)" if g.consequence else ""
        lines.append(
            f"  {g.count}x {g.endpoint} {g.kind} {g.path}{role}:"
            f" legacy {_value(described(g.kind, 'legacy', g.legacy))}"
            f" / candidate {_value(described(g.kind, 'candidate', g.candidate))}"
        )
    if len(f.members) > MAX_GROUPS:
        lines.append(f"  ... {plural(len(f.members) - MAX_GROUPS, 'more group')} (see the HTML report)")
    return (
        f"<testcase classname={_attr(f'paritycheck.run{run_id}.findings')}"
        f' name={_attr(f"{n}. [{f.grade}] {f.title}")} time="0">'
        f"<failure message={_attr(f.title)} type={_attr(f.grade)}>{_text(chr(10).join(lines))}</failure>"
        "</testcase>\n"
    )


def _case(e: EndpointRow, groups: list[m.Group], report: ReportModel, max_groups: int) -> str:
    replayed = e.matched + e.mismatched + e.failed
    inner = []
    if e.mismatched:
        lines = [
            f"{g.count}x [{g.risk}] {g.kind} {g.path}{_wire(g)}:"
            f" legacy {_value(described(g.kind, 'legacy', g.legacy))}"
            f" / candidate {_value(described(g.kind, 'candidate', g.candidate))}"
            for g in groups[:max_groups]
        ]
        if len(groups) > max_groups:
            lines.append(
                f"... {plural(len(groups) - max_groups, 'more difference group')} (see the HTML report)"
            )
        message = (
            f"{e.mismatched} of {plural(replayed, 'exchange')} differ"
            f" ({plural(len(groups), 'difference group')})"
        )
        inner.append(
            f'<failure message={_attr(message)} type="mismatch">{_text(chr(10).join(lines))}</failure>'
        )
    if e.failed:
        reasons = [f"{r.count}x {r.reason}" for r in report.failures if r.endpoint == e.endpoint]
        message = f"{e.failed} of {plural(replayed, 'exchange')} failed"
        inner.append(f'<error message={_attr(message)} type="failed">{_text(chr(10).join(reasons))}</error>')
    if not replayed:
        reasons = [f"{r.count}x {r.reason}" for r in report.skips if r.endpoint == e.endpoint]
        inner.append(f"<skipped message={_attr('; '.join(reasons) or 'nothing replayed')}/>")
    out = (
        f"<system-out>{_text(f'parity {e.parity:.1f}% ' if e.parity is not None else '')}"
        f"{_text(_latency(e))}</system-out>"
    )
    return (
        f'<testcase classname={_attr(f"paritycheck.run{report.run.id}")} name={_attr(e.endpoint)} time="0">'
        f"{''.join(inner)}{out}</testcase>\n"
    )


def _latency(e: EndpointRow) -> str:
    def three(side: dict[str, float | None]) -> str:
        return "/".join("-" if (v := side.get(q)) is None else f"{v:.1f}" for q in ("p50", "p95", "p99"))

    return f"p50/p95/p99 ms legacy {three(e.legacy_ms)} candidate {three(e.candidate_ms)}"


def write_junit(store: Store, run_id: int | None, path: str | Path) -> Path:
    """Write the JUnit XML of run ``run_id`` (None: the latest) to ``path``."""
    text = render_junit(m.build(store, run_id, max_examples=0))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
