"""Endpoint names the store remembers: one per shape, the spec's first; older stores remember theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck.store import Store, migrations
from tests.store.storehelpers import outcome, raw, start


def test_one_name_per_shape_and_the_spec_first(tmp_path: Path) -> None:
    with Store.open(tmp_path / "n.db") as store:
        first, second, third = start(store), start(store), start(store)
        store.remember_endpoints(
            first, ["GET /kpis/{id}", "GET /x/{param}", "GET /x/feed"], literals=["GET /x/feed"]
        )
        store.remember_endpoints(second, ["GET /x/{id}"])  # another spelling, later: the first stays
        assert store.known_endpoints().templates == ("GET /kpis/{id}", "GET /x/{id}")
        # a spec's name beats what runs learned, from the run that had the spec on
        store.remember_endpoints(
            third,
            ["GET /kpis/{kpi_id}", "GET /kpis/summary"],
            spec={"GET /kpis/{kpi_id}", "GET /kpis/summary"},
        )
        known = store.known_endpoints()
    assert known.templates == ("GET /kpis/{kpi_id}", "GET /x/{id}")
    assert known.literals == {"GET /x/feed", "GET /kpis/summary"}
    assert known.spelling()("GET /kpis/{id}") == "GET /kpis/{kpi_id}"


def test_a_store_from_before_remembers_the_names_its_runs_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:9])
    with Store.open(db) as store:
        run = start(store)
        for i, endpoint in enumerate(
            ["GET /items/{id}", "GET /items/{id}", "GET /people/{param}", "GET /health"]
        ):
            store.add(run, outcome(i, endpoint=endpoint))
        store.finish_run(run, status="complete")
    monkeypatch.undo()
    with Store.open(db) as store:
        assert store.known_endpoints().templates == ("GET /items/{id}", "GET /people/{param}")
    assert raw(db, "SELECT run_id, kind, source FROM endpoint_names WHERE name = 'GET /items/{id}'") == [
        (run, "template", "learned")
    ]
