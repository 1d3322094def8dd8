"""Aggregating contract results over traffic: per-operation counts, coverage, JSON, JUnit, table."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paritycheck.common.text import plural
from paritycheck.compare import redact
from paritycheck.contract.check import Contract, Operation, Response, Violation, validate_reply
from paritycheck.models import Request

SIDES = ("legacy", "candidate", "recorded")
#: Distinct violations kept per operation and side; the counts still include every one.
MAX_KEPT = 50


def _shows_mark(value: Any) -> bool:
    """A stored value that redaction replaced (or marked inside): its failure says nothing."""
    return isinstance(value, str) and redact.holds_mark(value)


def _without_secrets(violations: list[Violation], found: redact.Found) -> list[Violation]:
    """Violations whose values and messages no longer show the request's secret values."""
    if not found:
        return violations
    return [
        dataclasses.replace(v, value=redact.json_value(v.value, found), message=redact.text(v.message, found))
        for v in violations
    ]


@dataclass(slots=True)
class _OpStats:
    seen: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))
    candidate_only: int = 0
    kept: dict[tuple[str, int, str, str], tuple[Violation, int]] = field(default_factory=dict)


class ContractReport:
    """Validates traffic against a contract and keeps what the reports need."""

    def __init__(self, contract: Contract, *, sides: Sequence[str] = ("legacy", "candidate")) -> None:
        """``sides``: the table's columns until traffic says otherwise (``("recorded",)`` for captures)."""
        self.contract = contract
        self._default_sides = list(sides)
        self._ops: dict[str, _OpStats] = {op.key: _OpStats() for op in contract.operations}
        self._statuses: dict[str, set[str]] = {op.key: set() for op in contract.operations}
        self._undocumented: dict[str, int] = {}
        self._sides_used: set[str] = set()

    def add(
        self,
        method: str,
        path: str,
        *,
        legacy: Response | None = None,
        candidate: Response | None = None,
        recorded: Response | None = None,
        redacted: bool = False,
        request: Request | None = None,
    ) -> dict[str, list[Violation]] | None:
        """Validate the replies to one request and return each side's violations.

        A request no operation documents counts as undocumented (returns None). ``redacted``: the
        bodies were redacted before (stored replies), so a failure whose value is, or holds, a
        redaction mark says nothing about the backend and is dropped. ``request``: the replies are
        raw, and the values of violations are searched for that request's secrets (an echoed cookie).
        """
        op = self.contract.operation(method, path)
        if op is None:
            key = f"{method.upper()} {path.split('?', 1)[0]}"
            self._undocumented[key] = self._undocumented.get(key, 0) + 1
            return None
        stats = self._ops[op.key]
        stats.seen += 1
        broken: dict[str, bool] = {}
        found: dict[str, list[Violation]] = {}
        for side, reply in (("legacy", legacy), ("candidate", candidate), ("recorded", recorded)):
            if reply is None:
                continue
            self._sides_used.add(side)
            self._exercise(op, reply.status)
            violations = validate_reply(op, reply)
            if redacted:
                violations = [v for v in violations if not _shows_mark(v.value)]
            elif request is not None and violations:
                violations = _without_secrets(violations, redact.request_secrets(request))
            found[side] = violations
            broken[side] = bool(violations)
            stats.counts[side] += len(violations)
            for v in violations:
                ident = (side, v.status, v.path, v.keyword)
                if ident in stats.kept:
                    first, n = stats.kept[ident]
                    stats.kept[ident] = (first, n + 1)
                elif len(stats.kept) < MAX_KEPT * len(SIDES):
                    stats.kept[ident] = (v, 1)
        if broken.get("candidate") and broken.get("legacy") is False:
            stats.candidate_only += 1
        return found

    def _exercise(self, op: Operation, status: int) -> None:
        if status > 0:
            spec = op.response_for(status)
            if spec is not None:
                self._statuses[op.key].add(spec.code)

    @property
    def ok(self) -> bool:
        """True when no reply violated the contract (undocumented requests do not count)."""
        return not any(sum(s.counts.values()) for s in self._ops.values())

    @property
    def undocumented(self) -> list[str]:
        """Requests no operation documents, as ``METHOD /path`` (sorted)."""
        return sorted(self._undocumented)

    @property
    def unexercised(self) -> list[str]:
        """Operations never seen (``GET /pets/{id}``) and documented codes never answered (``... 404``).

        Codes are as documented (``404``, ``4XX``); ``default`` is a catch-all and never listed.
        """
        out: list[str] = []
        for op in self.contract.operations:
            if not self._ops[op.key].seen:
                out.append(op.key)
                continue
            out.extend(
                f"{op.key} {code}"
                for code in sorted(op.responses)
                if code != "default" and code not in self._statuses[op.key]
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document (see docs/contract.md)."""
        operations = []
        for op in self.contract.operations:
            stats = self._ops[op.key]
            entry: dict[str, Any] = {
                "operation": op.key,
                "seen": stats.seen,
                "legacy_violations": stats.counts["legacy"],
                "candidate_violations": stats.counts["candidate"],
            }
            if "recorded" in self._sides_used:
                entry["recorded_violations"] = stats.counts["recorded"]
            entry["candidate_only"] = stats.candidate_only
            entry["violations"] = [
                {
                    "side": side,
                    "status": v.status,
                    "path": v.path,
                    "keyword": v.keyword,
                    "message": v.message,
                    "value": v.value,
                    "count": n,
                }
                for (side, *_), (v, n) in stats.kept.items()
            ]
            operations.append(entry)
        return {
            "spec": self.contract.source,
            "digest": self.contract.digest,
            "mode": self.contract.mode,
            "ok": self.ok,
            "operations": operations,
            "undocumented": self.undocumented,
            "unexercised": self.unexercised,
        }

    def to_table(self) -> RenderableType:
        """A rich table: one row per operation seen, its violations per side and its coverage, then
        the leading violation messages of each operation that has any.

        ``candidate only`` counts requests where the candidate broke the contract and legacy honoured
        it (those rows are red); ``codes`` is documented status codes answered / documented (without
        ``default``). The caption counts operations exercised and undocumented requests.
        """
        sides = [s for s in SIDES if s in self._sides_used] or self._default_sides
        pair = "legacy" in sides and "candidate" in sides
        mode = " (normalised)" if self.contract.normalised is not None else ""
        table = Table(title=f"Contract{mode}: {self.contract.title or self.contract.source}")
        table.add_column("operation")
        table.add_column("seen", justify="right")
        for side in sides:
            table.add_column(f"{side} violations", justify="right")
        if pair:
            table.add_column("candidate only", justify="right")
        table.add_column("codes", justify="right")
        seen = 0
        for op in self.contract.operations:
            stats = self._ops[op.key]
            if not stats.seen:
                continue
            seen += 1
            cells = [str(stats.counts[s]) for s in sides]
            if pair:
                cells.append(str(stats.candidate_only))
            codes = [c for c in op.responses if c != "default"]
            cells.append(f"{len([c for c in codes if c in self._statuses[op.key]])}/{len(codes)}")
            style = "red" if stats.candidate_only else None
            table.add_row(op.key, str(stats.seen), *cells, style=style)
        caption = f"{seen} of {plural(len(self.contract.operations), 'operation')} exercised"
        if self._undocumented:
            caption += f"; {plural(sum(self._undocumented.values()), 'undocumented request')}"
        table.caption = caption
        # The leading violations follow the table, one block per operation: as a column they squeezed
        # the counts into unreadable wraps on an 80-column terminal.
        blocks: list[RenderableType] = [table]
        for op in self.contract.operations:
            stats = self._ops[op.key]
            if stats.kept:
                blocks.append(Text(f"{op.key}: leading violations", style="bold"))
                blocks.append(Text(_leading(stats)))
        return Group(*blocks) if len(blocks) > 1 else table


#: Longest line of a leading violation; longer messages are cut (the JSON report has them whole).
LEADING_WIDTH = 100
#: Violation messages shown per operation in the table (the JSON and HTML reports list more).
LEADING = 2


def _leading(stats: _OpStats) -> str:
    """The most frequent distinct violations of one operation, one short line each, sides merged."""
    merged: dict[tuple[int, str, str], tuple[Violation, int]] = {}
    for (_side, status, path, keyword), (v, n) in stats.kept.items():
        first, total = merged.get((status, path, keyword), (v, 0))
        merged[(status, path, keyword)] = (first, total + n)
    ranked = sorted(merged.values(), key=lambda item: -item[1])
    lines = []
    for v, n in ranked[:LEADING]:
        line = f"  {n}× {v.status} {v.path}: {v.message}".replace("\n", " ")
        lines.append(line if len(line) <= LEADING_WIDTH else line[: LEADING_WIDTH - 1] + "…")
    if len(ranked) > LEADING:
        lines.append(f"  … {len(ranked) - LEADING:,} more (--json lists them)")
    return "\n".join(lines)


def check_captures(spec: Contract, captures: Sequence[Path]) -> ContractReport:
    """Validate the responses recorded in capture files (side ``recorded``)."""
    from paritycheck.capture import read

    report = ContractReport(spec, sides=("recorded",))
    for path in captures:
        for exchange in read(path):
            if exchange.skip or exchange.recorded is None:
                continue
            report.add(exchange.request.method, exchange.request.path, recorded=exchange.recorded)
    return report


def to_junit(report: ContractReport) -> str:
    """JUnit XML: one testcase per operation seen, failing when any side violated the contract."""
    data = report.to_json()
    cases: list[str] = []
    failures = 0
    for entry in data["operations"]:
        if not entry["seen"]:
            continue
        name = quoteattr(entry["operation"])
        if entry["violations"]:
            failures += 1
            lines = "\n".join(
                f"[{v['side']}] {v['status']} {v['path']} ({v['keyword']}): {v['message']}"
                for v in entry["violations"]
            )
            total = sum(entry.get(f"{s}_violations", 0) for s in SIDES)
            cases.append(
                f'    <testcase classname="contract" name={name}>\n'
                f"      <failure message={quoteattr(f'{total} contract violation(s)')}>"
                f"{_text(lines)}</failure>\n"
                f"    </testcase>"
            )
        else:
            cases.append(f'    <testcase classname="contract" name={name}/>')
    undocumented = data["undocumented"]
    if undocumented:
        cases.append(
            '    <testcase classname="contract" name="undocumented requests">\n'
            f"      <skipped message={quoteattr(f'{len(undocumented)} undocumented')}>"
            f"{_text(chr(10).join(undocumented))}</skipped>\n    </testcase>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'
        f'  <testsuite name="paritycheck contract" tests="{len(cases)}" failures="{failures}">\n'
        + "\n".join(cases)
        + "\n  </testsuite>\n</testsuites>\n"
    )


def _text(value: str) -> str:
    # XML 1.0 forbids most control characters even when escaped.
    value = "".join(c for c in value if c >= " " or c in "\n\t")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
