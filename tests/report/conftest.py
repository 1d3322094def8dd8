"""Fixtures for the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
