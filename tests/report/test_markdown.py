"""The Markdown summary: verdict, figures, endpoints not at parity, regressions, size."""

from __future__ import annotations

from paritycheck.config import GateConfig
from paritycheck.gate import criteria as gate
from paritycheck.models import Difference, Status
from paritycheck.report import markdown, model
from paritycheck.store import Store
from tests.report.reportdata import outcome, write_run


def test_summary_lists_what_is_not_at_parity(demo_store: Store) -> None:
    text = markdown.render_markdown(model.build(demo_store))
    first = text.splitlines()[0]
    assert "NOT AT PARITY" in first and f"run {demo_store.latest_run_id()}" in first
    assert "`GET /orders/{id}`" in text and "`$.price`" in text
    assert "`GET /health`" in text and "connection refused" in text
    assert "`GET /users/{id}`" not in text.split("### Latency")[0]  # at parity: not in the table
    latency = text.split("### Latency regressions")[1]
    assert "`GET /reports/summary`" in latency


def test_findings_come_first_and_the_top_three_are_named(demo_store: Store) -> None:
    report = model.build(demo_store)
    text = markdown.render_markdown(report)
    assert text.index("### Findings") < text.index("### Endpoints not at parity")
    head = text.split("### Findings")[0]
    n = len(report.findings)
    assert f"**{n} findings**" in head and "**1.**" in head and "**3.**" in head
    rows = [
        line for line in text.split("### Findings")[1].split("###")[0].splitlines() if line.startswith("| ")
    ]
    assert len(rows) == n + 1  # the heading row and one per finding
    assert "`price`: a number on legacy, a string on candidate" in text


def test_values_render_as_text(demo_store: Store) -> None:
    text = markdown.render_markdown(model.build(demo_store))
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert markdown.md("a|b*c") == "a\\|b\\*c"
    assert markdown.code("x|`y`") == "`x\\|'y'`"


def test_at_parity(tmp_path: object, demo_store: Store) -> None:
    run_id = write_run(demo_store, [outcome(i, "GET /a", Status.MATCHED) for i in range(3)])
    text = markdown.render_markdown(model.build(demo_store, run_id))
    assert "AT PARITY" in text.splitlines()[0] and "NOT" not in text.splitlines()[0]
    assert "### Endpoints not at parity" not in text


def test_stays_under_the_limit(demo_store: Store) -> None:
    outcomes = [
        outcome(
            i,
            f"GET /endpoint-{i:04d}/" + "x" * 60,
            Status.MISMATCHED,
            differences=(Difference("changed", "$.v" + "y" * 50, i, i + 1),),
        )
        for i in range(1500)
    ]
    run_id = write_run(demo_store, outcomes)
    text = markdown.render_markdown(model.build(demo_store, run_id, max_examples=0), max_bytes=20_000)
    assert len(text.encode()) <= 20_000
    assert "more rows left out" in text


def test_gate_verdict_is_shown_when_recorded(demo_store: Store) -> None:
    run_id = demo_store.latest_run_id()
    assert "Gate" not in markdown.render_markdown(model.build(demo_store))
    result = gate.evaluate(demo_store, run_id, GateConfig(), resamples=200)
    assert not result.passed  # the demo run is not at parity
    gate.record(demo_store, result)
    text = markdown.render_markdown(model.build(demo_store))
    (line,) = [x for x in text.splitlines() if "Gate" in x]
    assert line.startswith("**Gate: FAIL**") and f"({len(result.failures)} criteri" in line
    for c in result.failures:
        assert markdown.md(f"{c.name} ({c.endpoint})" if c.endpoint else c.name, limit=100) in line
    assert text.index("Gate") < text.index("### Endpoints not at parity")


def test_gate_pass_is_shown(demo_store: Store) -> None:
    run_id = write_run(demo_store, [outcome(i, "GET /a", Status.MATCHED) for i in range(3)])
    result = gate.evaluate(demo_store, run_id, GateConfig(), resamples=200)
    assert result.passed
    gate.record(demo_store, result)
    text = markdown.render_markdown(model.build(demo_store, run_id))
    assert "**Gate: PASS**" in text and "FAIL" not in text
