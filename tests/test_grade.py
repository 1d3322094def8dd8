"""Findings: grouping shape, detail, risk grades, and how each side of a difference is shown."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from paritycheck.compare import described, detail, grade, risk, shape
from paritycheck.gate import LiveSummary
from paritycheck.models import Difference, Status
from paritycheck.report.terminal import print_summary
from tests.store.storehelpers import outcome


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        (Difference("status", "status", 401, 201), "accepts-refused"),
        (Difference("status", "status", 422, 201), "accepts-refused"),
        (Difference("status", "status", 200, 500), "server-error"),
        (Difference("status", "status", 500, 503), "behavioural"),
        (Difference("status", "status", 500, 200), "breaking"),  # a read: the legacy crashed, not refused
        (Difference("event-missing", "$.events[2]", {"event": "x"}, None), "breaking"),
        (Difference("event-extra", "$.events[2]", None, {"event": "x"}), "additive"),
        (Difference("status", "status", 200, 201), "behavioural"),
        (Difference("status", "status", 422, 400), "behavioural"),
        (Difference("removed", "$.user.bio", "x", None), "breaking"),
        (Difference("type", "$.price", 1, "1"), "breaking"),
        (Difference("header", "header:content-type", "application/json", "text/html"), "breaking"),
        (Difference("header", "header:cache-control", "no-store", "max-age=0"), "behavioural"),
        (Difference("changed", "$.name", "a", "b"), "behavioural"),
        (Difference("order", "$.tags", [1, 2], [2, 1]), "behavioural"),
        (Difference("added", "$.debug", None, True), "additive"),
    ],
)
def test_risk_grades(difference: Difference, expected: str) -> None:
    assert grade(difference) == expected == risk(difference.kind, shape(difference.path), detail(difference))


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("DELETE", "accepts-refused"),
        ("PUT", "accepts-refused"),
        ("POST", "accepts-refused"),
        ("GET", "breaking"),
    ],
)
def test_a_write_the_legacy_refused_by_crashing_is_accepts_refused(method: str, expected: str) -> None:
    """Deleting another user's comment: 500 on legacy, 204 on the candidate, which performed the write."""
    assert grade(Difference("status", "status", 500, 204), method=method) == expected
    assert risk("status", "status", "500→204", method=method) == expected


def test_shape_and_detail() -> None:
    assert shape("$.items[3].tags[0]") == "$.items[*].tags[*]" and shape("status") == "status"
    assert detail(Difference("type", "$.bio", None, "")) == "null→string"
    assert detail(Difference("changed", "$.bio", "a", "b")) == ""


def test_empty_null_and_missing_never_look_alike() -> None:
    assert described("type", "legacy", None) == "null"
    assert described("type", "candidate", "") == '""'
    assert described("removed", "candidate", None) == "(missing)"
    assert described("added", "legacy", None) == "(missing)"
    assert described("header", "candidate", None) == "(missing)"  # a header is never null: it is absent
    assert described("event-missing", "candidate", None) == "(missing)"
    assert described("event-extra", "legacy", None) == "(missing)"
    assert (
        described("changed", "legacy", "null") == '"null"' and described("changed", "legacy", "abc") == "abc"
    )


def test_the_terminal_shows_grades_and_distinguishes_empty_null_and_missing() -> None:
    live = LiveSummary()
    diffs = (
        Difference("type", "$.profile.bio", None, ""),
        Difference("removed", "$.profile.image", None, None),
        Difference("status", "status", 403, 200),
    )
    live.add(outcome(1, status=Status.MISMATCHED, differences=diffs))
    buffer = io.StringIO()
    print_summary(live.summary(), out=Console(file=buffer, width=160, color_system=None))
    text = buffer.getvalue()
    lines = {line.split()[3]: line for line in text.splitlines() if "×" in line and len(line.split()) > 3}
    assert '""' in lines["$.profile.bio"] and "null" in lines["$.profile.bio"]
    assert "(missing)" in lines["$.profile.image"] and "breaking" in lines["$.profile.image"]
    # the refusal the candidate accepted is listed first
    first = next(line for line in text.splitlines() if "×" in line)
    assert "accepts-refused" in first and "status" in first


def test_the_gate_fails_on_breaking_differences_with_max_breaking_0(tmp_path: object) -> None:
    from pathlib import Path

    from paritycheck.config import GateConfig
    from paritycheck.gate import evaluate
    from paritycheck.store import Store
    from tests.store.storehelpers import start

    with Store.open(Path(str(tmp_path)) / "g.db") as store:
        run = start(store)
        refused = Difference("status", "status", 403, 200)
        added = Difference("added", "$.debug", None, True)
        store.add(run, outcome(1, status=Status.MISMATCHED, differences=(refused,)))
        store.add(run, outcome(2, status=Status.MISMATCHED, differences=(added,)))
        store.finish_run(run, status="complete")
        off = {"accepts-refused": -1}  # the refusal's own criterion is on by default: off here
        lenient = evaluate(store, run, GateConfig(min_parity=0, max_failed=100, max_findings=off))
        strict = evaluate(
            store, run, GateConfig(min_parity=0, max_failed=100, max_breaking=0, max_findings=off)
        )
    assert lenient.passed and not any(c.name == "breaking findings" for c in lenient.criteria)
    (row,) = [c for c in strict.criteria if c.name == "breaking findings"]
    assert not strict.passed and row.measured == 1 and "accepts what legacy refused" in row.note
