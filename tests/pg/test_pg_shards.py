"""Shards as separate processes into one PostgreSQL run give what one SQLite process gives."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import shardcase as sc

from paritycheck.config import GateConfig
from paritycheck.gate import evaluate, summarise
from paritycheck.store import Store, describe_shards


def _merged(db: object, run_id: int) -> dict[str, Any]:
    with Store.open(db, create=False) as store:  # type: ignore[arg-type]
        summary = summarise(store, run_id)
        verdict = evaluate(store, run_id, GateConfig())
        keys = [(x.source, x.entry) for x in store.exchanges(run_id)]
        return {
            "totals": (summary.total, summary.matched, summary.mismatched, summary.failed, summary.skipped),
            "groups": sorted((g.endpoint, g.kind, g.path, g.count) for g in store.difference_groups(run_id)),
            "verdict": (verdict.passed, [(c.name, c.state) for c in verdict.criteria if c.scope == "run"]),
            "stored": (len(keys), len(set(keys))),
            "status": store.run(run_id).status,
        }


def test_four_shard_processes_into_postgres_equal_one_sqlite_run(tmp_path: Path, pg_dsn: str) -> None:
    har = sc.capture(tmp_path / "c.har")
    with sc.backends() as (legacy, candidate):
        single = sc.run(sc.replay_args(har, tmp_path / "one.db", legacy, candidate), tmp_path)
        assert single.returncode == 1, single.stderr
        # All four at once: their flushes and the run's creation overlap in time.
        procs = [
            sc.start(
                sc.replay_args(har, pg_dsn, legacy, candidate, "--shard", f"{i}/4", "--run-name", "nightly"),
                tmp_path,
            )
            for i in range(1, 5)
        ]
        results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
        for p in procs:
            p.stdout and p.stdout.close()
            p.stderr and p.stderr.close()
    assert [code for code, _ in results] == [1, 1, 1, 1], results
    with Store.open(pg_dsn, create=False) as store:
        run_id = store.run_id_named("nightly")
        assert run_id is not None and len(store.runs()) == 1
        assert describe_shards(store.run(run_id)) == "4 of 4 shards complete"
    expected = _merged(tmp_path / "one.db", 1)
    assert expected["stored"] == (sc.ENTRIES, sc.ENTRIES)
    assert _merged(pg_dsn, run_id) == expected


def test_a_shard_with_another_capture_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    har = sc.capture(tmp_path / "c.har")
    other = sc.capture(tmp_path / "d.har", entries=sc.ENTRIES - 1)
    with sc.backends() as (legacy, candidate):
        first = sc.run(
            sc.replay_args(har, pg_dsn, legacy, candidate, "--shard", "1/2", "--run-name", "n"), tmp_path
        )
        assert first.returncode == 1, first.stderr
        refused = sc.run(
            sc.replay_args(other, pg_dsn, legacy, candidate, "--shard", "2/2", "--run-name", "n"), tmp_path
        )
    assert refused.returncode == 2
    assert "shard 2/2 of run 'n' refused: its capture (sha256) differ" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_unreachable_postgres_from_the_command_line(tmp_path: Path) -> None:
    har = sc.capture(tmp_path / "c.har", entries=2)
    result = sc.run(
        sc.replay_args(
            har, "postgresql://u:hunter2@127.0.0.1:1/x", "http://127.0.0.1:1", "http://127.0.0.1:2"
        ),
        tmp_path,
    )
    assert result.returncode == 2
    assert "hunter2" not in result.stderr + result.stdout
    assert "cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1:1/x" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
