"""The gate's output folds endpoints with too few samples, and endpoints that were only skipped, into
one line each (the list goes in the details), so a small capture does not print a row per endpoint."""

from __future__ import annotations

from pathlib import Path

from gatehelpers import add_run, counts, open_store
from rich.console import Console

from paritycheck.config import GateConfig
from paritycheck.gate import NOT_JUDGED, evaluate
from paritycheck.report import gate_markdown, print_gate

SMALL = [f"GET /api/things{i}" for i in range(19)]


def test_small_and_skipped_endpoints_fold_into_one_line_each(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        outcomes = [o for ep in SMALL for o in counts(ep, matched=1)]
        outcomes += counts("POST /api/orders", skipped=2) + counts("DELETE /api/orders/{id}", skipped=1)
        result = evaluate(store, add_run(store, outcomes), GateConfig())
    notes = {c.endpoint: c.note for c in result.criteria if c.state == NOT_JUDGED}
    assert notes["POST /api/orders"] == "skipped: writes are not replayed without --allow-writes"
    assert notes["GET /api/things0"] == "not judged on latency (n=1 < 30)"

    console = Console(width=200, color_system=None, record=True)
    print_gate(result, console)
    text = console.export_text()
    assert text.count("n=1 < 30") == 0  # no row per endpoint
    assert "19 endpoints" in text and "2 endpoints" in text
    assert "not judged on latency (n < 30 each; listed below)" in text
    assert "skipped: not replayed" in text and "no exchange where both backends answered" not in text
    details = [
        line for line in text.splitlines() if line.startswith(("not judged on latency (fewer", "skipped:"))
    ]
    assert len(details) == 2
    assert all(ep in details[0] for ep in SMALL) and "POST /api/orders (writes are not" in details[1]

    md = gate_markdown(result, all_rows=True)
    assert "| latency | 19 endpoints |" in md and "<details>" in md and "GET /api/things18 (n=1)" in md


def test_one_small_endpoint_keeps_its_own_row(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        result = evaluate(store, add_run(store, counts("GET /one", matched=1)), GateConfig())
    console = Console(width=200, color_system=None, record=True)
    print_gate(result, console)
    assert "not judged on latency (n=1 < 30)" in console.export_text()


def test_the_run_table_breaks_endpoint_names_only_at_slashes(tmp_path: Path) -> None:
    from paritycheck.gate import summarise
    from paritycheck.report.terminal import print_summary

    long_names = [
        "GET /api/v1/projects/{id}/comments",
        "GET /api/v1/organisations/{org}/projects/{id}/comments/{comment_id}/reactions",
    ]
    with open_store(tmp_path) as store:
        run = add_run(store, [o for ep in long_names for o in counts(ep, matched=2, mismatched=1)])
        summary = summarise(store, run)
    for width in (80, 100, 160):
        console = Console(width=width, color_system=None, record=True)
        print_summary(summary, out=console)
        rows = [line for line in console.export_text().splitlines() if line.startswith("│")]
        cells = [row.split("│")[1].strip() for row in rows]
        names: list[str] = []
        for cell in cells:
            if cell.startswith("GET "):
                names.append(cell)
            elif cell:  # a continuation line starts at a '/': the name was broken before it
                assert cell.startswith("/"), (width, cells)
                names[-1] += cell
        assert sorted(names) == sorted(long_names), (width, cells)
