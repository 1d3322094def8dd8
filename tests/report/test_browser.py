"""The HTML report in real headless Chromium (Debian's package, driven by Playwright).

Skipped with a reason when Playwright or a Chromium binary is missing (``make test`` installs Chromium
with ``.ci/ensure-chromium``). Playwright never downloads a browser here: it is pointed at the system one
(the ``browser`` fixture of tests/report/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paritycheck import samples
from paritycheck.config import load
from paritycheck.report import write_html
from paritycheck.run import replay_captures
from paritycheck.store import Store
from tests.report.reportdata import add_contract_check, demo_outcomes, write_run

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    with Store.open(folder / "results.db") as store:
        write_run(store, demo_outcomes())
        return write_html(store, None, folder / "index.html")


@pytest.fixture(scope="module")
def contract_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-contract")
    with Store.open(folder / "results.db") as store:
        run_id = write_run(store, demo_outcomes())
        add_contract_check(store, run_id, folder)
        store.update_meta(run_id, {"gate": {"verdict": "fail", "failed": ["parity"]}})
        return write_html(store, None, folder / "index.html")


class Page:
    """A loaded report page with everything it logged and requested."""

    def __init__(self, browser: Any, path: Path, *, viewport: dict[str, int] | None = None) -> None:
        self.page = browser.new_page(viewport=viewport) if viewport else browser.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        # Anything but the report itself is aborted, and recorded by the listener above.
        self.page.route(
            "**/*", lambda route: route.continue_() if route.request.url == path.as_uri() else route.abort()
        )
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("html[data-ready='1']")


@pytest.fixture
def page(browser: Any, report: Path) -> Iterator[Page]:
    loaded = Page(browser, report)
    yield loaded
    loaded.page.close()


def test_renders_without_errors_or_requests(page: Page, report: Path) -> None:
    assert page.errors == []
    assert [c for c in page.console if c.startswith("error")] == []
    assert page.requests == [report.as_uri()]
    assert page.page.inner_text("#verdict") == "NOT AT PARITY"
    assert page.page.locator("#endpoints-table tbody tr").count() == 6
    assert page.page.locator(".plot svg polyline").count() >= 2


def test_injected_script_does_not_run(page: Page) -> None:
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    assert page.page.evaluate("document.scripts.length") == 1
    page.page.locator('details.ep[data-ep="GET /search"] > summary').click()
    group = page.page.locator('#differences details.grp[data-path="$.name"]')
    group.locator("> summary").click()
    group.locator(".example").first.wait_for(state="visible")
    assert "<script>window.__pwned = 1</script>" in group.inner_text()
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == []


def _column(page: Page, index: int) -> list[str]:
    cells = page.page.locator(f"#endpoints-table tbody tr:not([hidden]) td:nth-child({index})")
    return [c.strip() for c in cells.all_inner_texts()]


def test_sorting(page: Page) -> None:
    header = page.page.locator("#endpoints-table thead th").nth(11)  # candidate p95
    assert "candidate" in header.inner_text()
    header.click()
    ascending = _column(page, 1)
    header.click()
    descending = _column(page, 1)
    assert descending[0] == "GET /reports/summary"
    assert ascending != descending
    assert header.get_attribute("aria-sort") == "descending"
    page.page.locator("#endpoints-table thead th").nth(0).click()
    names = _column(page, 1)
    assert names == sorted(names, key=str.lower)


def test_filtering(page: Page) -> None:
    page.page.fill("#filter", "orders")
    assert _column(page, 1) == ["GET /orders/{id}", "POST /orders"]
    assert page.page.inner_text("#shown") == "2"
    page.page.fill("#filter", "")
    page.page.check("#only-bad")
    shown = set(_column(page, 1))
    assert shown == {"GET /orders/{id}", "GET /search", "GET /health", "GET /reports/summary"}
    assert page.page.locator(".plot:not([hidden])").count() < page.page.locator(".plot").count()


def test_difference_group_expands_to_both_responses(page: Page) -> None:
    page.page.locator("#endpoints-table a", has_text="GET /orders/{id}").click()
    group = page.page.locator('#differences details.grp[data-path="$.price"]')
    assert not group.locator(".example").first.is_visible()
    group.locator("> summary").click()
    example = group.locator(".example").first
    example.wait_for(state="visible")
    marked = example.locator(".json .m").all_inner_texts()
    assert any('"price": 10.5' in t for t in marked) and any('"price": "10.50"' in t for t in marked)
    raw_view = example.locator("details").filter(has=page.page.locator("> summary", has_text="raw responses"))
    raw_view.locator("> summary").click()
    raw = raw_view.inner_text()
    assert "HTTP 200" in raw and "10.50" in raw


def test_contract_section(browser: Any, contract_report: Path) -> None:
    loaded = Page(browser, contract_report)
    try:
        page = loaded.page
        assert loaded.errors == [] and [c for c in loaded.console if c.startswith("error")] == []
        assert loaded.requests == [contract_report.as_uri()]
        assert page.locator("#contract").is_visible()
        assert page.inner_text('[data-fig="gate"] .v') == "FAIL"
        highlighted = page.locator("#contract tr[data-conly='1'] td.worse")
        assert highlighted.count() > 0
        # A highlighted cell is drawn differently from a plain one (the class is styled, not inline).
        plain = page.locator("#contract tr[data-conly='0'] td.n").first
        colour = "el => getComputedStyle(el).backgroundColor"
        assert highlighted.first.evaluate(colour) != plain.evaluate(colour)
        details = page.locator('details.cv[data-op="GET /search"]')
        assert not details.locator("table").is_visible()
        page.locator("#contract a", has_text="GET /search").click()
        details.locator("table").wait_for(state="visible")
        assert "<script>window.__pwned = 1</script>" in details.inner_text()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert loaded.errors == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo replayed as ``make demo`` does (its writes allowed), and its HTML report."""
    import asyncio
    import concurrent.futures
    import dataclasses

    folder = tmp_path_factory.mktemp("browser-demo")
    config = load(ROOT / "paritycheck.toml")

    async def replay() -> None:
        async with samples.running(summary_delay=0) as s:
            replay = dataclasses.replace(config.replay, allow_writes=True)
            await replay_captures(
                dataclasses.replace(s.config(config), replay=replay),
                [ROOT / "captures" / "auth.har"],
                db=folder / "r.db",
            )

    # In a thread of its own: Playwright's sync API runs an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(replay())).result()
    with Store.open(folder / "r.db", create=False) as store:
        return write_html(store, None, folder / "index.html")


def test_the_first_findings_are_visible_without_scrolling(browser: Any, demo_report: Path) -> None:
    """Issue 21: the report opens with the findings; at 1400x900 the first ones show before any scroll,
    the forgotten authorisation check first, and each opens onto its groups and an example."""
    loaded = Page(browser, demo_report, viewport={"width": 1400, "height": 900})
    page = loaded.page
    try:
        assert loaded.errors == [] and loaded.requests == [demo_report.as_uri()]
        assert page.evaluate("window.scrollY") == 0
        for n in (1, 2, 3):
            summary = page.locator(f"#f-{n} > summary")
            box = summary.bounding_box()
            assert summary.is_visible() and box is not None and box["y"] + box["height"] <= 900, (n, box)
        first = page.locator("#f-1")
        assert first.get_attribute("data-grade") == "accepts-refused"
        assert "DELETE /api/v1/tasks/{id} 401 → 204" in first.locator("> summary").inner_text()
        # the headline names the top three, above the figures
        assert page.locator(".headline li").count() == 3
        headline = page.locator(".headline").bounding_box()
        figures = page.locator(".figures").bounding_box()
        assert headline is not None and figures is not None and headline["y"] < figures["y"]
        # findings come before the endpoints and the latency
        order = page.evaluate(
            "['findings', 'endpoints', 'latency'].map(id => document.getElementById(id).offsetTop)"
        )
        assert order == sorted(order)
        first.locator("> summary").click()
        group = first.locator("details.grp").first
        group.locator("> summary").click()
        example = group.locator(".example").first
        example.wait_for(state="visible")
        assert "HTTP 401" in example.inner_text() or "401" in example.inner_text()
        assert "paritycheck accept --finding" in first.inner_text()
        assert loaded.errors == []
    finally:
        page.close()
