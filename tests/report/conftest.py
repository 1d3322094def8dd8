"""Fixtures for the report tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paritycheck.models import Status
from paritycheck.store import Store
from tests.report.reportdata import add_contract_check, demo_outcomes, outcome, write_run


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Store]:
    """Two runs: a first one all matching, then the demo run (the latest)."""
    with Store.open(tmp_path / "results.db") as store:
        write_run(store, [outcome(i, "GET /users/{id}", Status.MATCHED) for i in range(5)])
        write_run(store, demo_outcomes())
        yield store


@pytest.fixture
def contract_store(tmp_path: Path) -> Iterator[Store]:
    """The demo run, checked against the test contract (tests/report/reportdata.py:SPEC) and stored."""
    with Store.open(tmp_path / "results.db") as store:
        run_id = write_run(store, demo_outcomes())
        add_contract_check(store, run_id, tmp_path)
        yield store


CHROMIUM = (
    os.environ.get("PARITYCHECK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _Chromium:
    """One headless Chromium for the browser tests that a test process runs one after another.

    The tests marked ``browser`` run first, together (tests/conftest.py), in two modules. A browser per
    module launched Chromium twice (~1.6 s of CPU each). It cannot live for the whole session either:
    Playwright's sync API holds an event loop on this thread while it runs, which would stay under every
    later asyncio test. So it starts with the first browser test and stops after the last one of a
    row (:func:`pytest_runtest_teardown`)."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is None:
            sync_api = pytest.importorskip(
                "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
            )
            if CHROMIUM is None:
                pytest.skip("no chromium binary on PATH (make test installs it with .ci/ensure-chromium)")
            self._playwright = sync_api.sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            except BaseException:
                self.stop()  # a browser that cannot start leaves no Playwright running behind it
                raise
        return self._browser

    def stop(self) -> None:
        if self._playwright is not None:
            try:
                if self._browser is not None:
                    self._browser.close()
            finally:
                self._playwright.stop()
                self._playwright = self._browser = None


_CHROMIUM = _Chromium()


@pytest.fixture
def browser() -> Any:
    """Headless Chromium (:class:`_Chromium`); each test opens and closes its own pages."""
    return _CHROMIUM.get()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop Chromium once the test's own fixtures are torn down, unless the next test needs it too."""
    yield
    if nextitem is None or nextitem.get_closest_marker("browser") is None:
        _CHROMIUM.stop()
