"""Rollout steps and verdicts on PostgreSQL (migration 10 through the dialect adapter), judged as on
SQLite."""

from __future__ import annotations

from pathlib import Path

from paritycheck.rollout import ROLLBACK, judge, record, start_step
from paritycheck.store import SideErrors, Store
from tests.rollout.rollouthelpers import later, plan, window


def _rollout(store: Store, tmp_path: Path) -> list[object]:
    config = plan(tmp_path)
    first = start_step(store, config, "1", source={"by": "test", "checksum": "abc"})
    window(store, 100)
    run = window(store, 90, bad=10)
    verdict = judge(store, config, now=later(store, 1))
    record(store, verdict)
    return [
        (first.step, first.label, first.share, first.source, first.plan["max_error_rate"]),
        store.side_errors(run),
        verdict.decision,
        [(f.name, f.where.split(" ")[0]) for f in verdict.fired],
        [(c.decision, c.verdict["decision"]) for c in store.rollout_checks()],
        store.current_step() == first,
    ]


def test_a_rollout_reads_the_same_on_postgresql_and_sqlite(pg_dsn: str, tmp_path: Path) -> None:
    with Store.open(pg_dsn) as pg:
        on_pg = _rollout(pg, tmp_path)
    with Store.open(tmp_path / "r.db") as lite:
        on_sqlite = _rollout(lite, tmp_path)
    assert on_pg == on_sqlite
    assert on_pg[1] == SideErrors(0, 100, 10, 100)
    assert on_pg[2] == ROLLBACK and on_pg[3] == [("max_error_rate", "run")]
    assert on_pg[4] == [(ROLLBACK, ROLLBACK)]
