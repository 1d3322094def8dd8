"""The contract checks stored with a run, in the HTML and Markdown reports."""

from __future__ import annotations

import re
from pathlib import Path

from paritycheck.models import Status
from paritycheck.report import html, html_exchange, markdown, model
from paritycheck.store import Store
from tests.report.reportdata import add_contract_check, demo_outcomes, outcome, write_run
from tests.report.test_html import _tags


def _section(page: str) -> str:
    found = re.search(r'<section id="contract">.*?</section>', page, re.S)
    assert found is not None, "no contract section"
    return found.group(0)


def _row(section: str, operation: str) -> str:
    found = re.search(
        rf'<tr [^>]*data-op="{re.escape(html_exchange.esc(operation))}"[^>]*>.*?</tr>', section, re.S
    )
    assert found is not None, operation
    return found.group(0)


def test_model_reads_the_stored_check(contract_store: Store) -> None:
    report = model.build(contract_store)
    (check,) = report.contracts
    (stored,) = contract_store.contract_checks(report.run.id)
    assert (check.spec, check.mode, check.digest) == (stored.spec, stored.mode, stored.digest)
    ops = {o.operation: o for o in check.operations}
    # The candidate's string price breaks the contract on every order; legacy honours it.
    seen = ops["GET /orders/{id}"].seen
    assert seen and ops["GET /orders/{id}"].candidate_only == seen
    assert ops["GET /orders/{id}"].legacy == 0
    # Both sides miss the users' name: violations on both, none candidate-only.
    assert ops["GET /users/{id}"].legacy > 0 and ops["GET /users/{id}"].candidate_only == 0
    assert "GET /health" in check.undocumented and "GET /never" in check.unexercised
    assert ops["GET /never"] not in check.exercised


def test_section_shows_each_operation_and_highlights_candidate_only(contract_store: Store) -> None:
    page = html.render_html(model.build(contract_store))
    section = _section(page)
    orders, users = _row(section, "GET /orders/{id}"), _row(section, "GET /users/{id}")
    assert 'data-conly="1"' in orders and "worse" in orders
    assert 'data-conly="0"' in users and "worse" not in users
    assert 'data-op="GET /never"' not in section.split("<h3>")[0]  # not exercised: not in the table
    assert "<code>$.price</code>" in section and "is not of type" in section
    # Coverage: undocumented requests and operations/codes never answered.
    assert "<code>GET /health</code>" in section
    assert "<code>GET /never</code>" in section and "<code>GET /users/{id} 404</code>" in section
    assert 'data-fig="contract"' in page  # the header figure
    # The section sits between the endpoints table and the latency plots.
    assert page.index('id="endpoints"') < page.index('id="contract"') < page.index('id="latency"')


def test_section_escapes_values(contract_store: Store) -> None:
    page = html.render_html(model.build(contract_store))
    section = _section(page)
    assert "Demo &lt;b&gt;API&lt;/b&gt;" in section and "<b>API" not in page
    assert 'data-conly="1"' in _row(section, "GET /search")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in section  # the violation's value
    assert [t for t, _ in _tags(page)].count("script") == 1
    for tag, attrs in _tags(section):
        assert "style" not in attrs and not any(k.startswith("on") for k in attrs), tag
        assert (attrs.get("href") or "#").startswith("#")


def test_run_without_checks_has_no_section(demo_store: Store) -> None:
    page = html.render_html(model.build(demo_store))
    assert model.build(demo_store).contracts == ()
    assert 'id="contract"' not in page and 'data-fig="contract"' not in page
    assert "### Contract" not in markdown.render_markdown(model.build(demo_store))


def test_latest_check_per_mode_newest_first(contract_store: Store, tmp_path: Path) -> None:
    run_id = contract_store.latest_run_id()
    add_contract_check(contract_store, run_id, tmp_path)  # the same spec and mode again
    normalised = add_contract_check(contract_store, run_id, tmp_path, normalised=True)
    checks = model.build(contract_store).contracts
    assert [c.mode for c in checks] == ["normalised", "raw"]
    assert checks[0].check_id == normalised
    assert checks[1].check_id == max(c.id for c in contract_store.contract_checks(run_id) if c.mode == "raw")


def test_unfinished_check_is_read_from_its_rows(tmp_path: Path) -> None:
    with Store.open(tmp_path / "results.db") as store:
        run_id = write_run(store, demo_outcomes(5))
        check_id = store.start_contract_check(run_id, spec="api.yaml", digest="0" * 64, title="", mode="raw")
        store.add_contract_violations(
            check_id,
            run_id,
            [(1, "candidate", "GET /orders/{id}", 200, "$.price", "type", "not a number", "<i>x</i>")],
        )
        (check,) = model.build(store).contracts
        page = html.render_html(model.build(store))
    assert not check.complete
    (op,) = check.operations
    assert (op.candidate, op.legacy, op.candidate_only, op.seen) == (1, 0, 1, None)
    assert "did not finish" in _section(page) and "&lt;i&gt;x&lt;/i&gt;" in _section(page)


def test_markdown_contract_table(contract_store: Store) -> None:
    text = markdown.render_markdown(model.build(contract_store))
    contract = text.split("### Contract")[1]
    assert "Demo &lt;b&gt;API&lt;/b&gt;" in contract.splitlines()[0]
    rows = [line for line in contract.splitlines() if line.startswith("| `")]
    # Operations with violations only, candidate-only ones first, that count in bold.
    assert rows[0].startswith("| `GET /orders/{id}`") and "**" in rows[0]
    assert any(r.startswith("| `GET /users/{id}`") for r in rows)
    assert not any("/never" in r for r in rows)
    assert "<script>" not in text


def test_markdown_contract_without_violations(tmp_path: Path) -> None:
    with Store.open(tmp_path / "results.db") as store:
        run_id = write_run(store, [outcome(i, "GET /never", Status.MATCHED, path="/never") for i in range(2)])
        add_contract_check(store, run_id, tmp_path)
        text = markdown.render_markdown(model.build(store))
    contract = text.split("### Contract")[1]
    assert "honoured" in contract and "| operation |" not in contract
