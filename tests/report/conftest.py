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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one module: Playwright's sync API holds an event loop on this thread while
    it runs, which a session-long browser would leave running under every later asyncio test."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (make test installs it with .ci/ensure-chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
