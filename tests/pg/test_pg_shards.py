"""Shards as separate processes into one PostgreSQL run give what one SQLite process gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import shardcase as sc

from paritycheck.store import Store, describe_shards


@pytest.mark.parametrize("noisy", [False, True], ids=["plain", "noise-in-one-shard"])
def test_four_shard_processes_into_postgres_equal_one_sqlite_run(
    tmp_path: Path, pg_dsn: str, noisy: bool
) -> None:
    har = sc.noisy_capture(tmp_path / "c.har") if noisy else sc.capture(tmp_path / "c.har")
    entries = sc.ENTRIES + (36 if noisy else 0)
    with sc.backends() as (legacy, candidate):
        single = sc.invoke(sc.replay_args(har, tmp_path / "one.db", legacy, candidate))
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
    expected = sc.merged_view(tmp_path / "one.db", 1)
    assert expected["stored"] == (entries, entries)
    if noisy:  # one process: $.stamp is noise, $.nonce a real difference on every /noisy exchange
        assert [p[1] for p in expected["noise"]] == ["$.stamp"]
        assert ("GET /noisy/{id}", "changed", "$.nonce", 36) in expected["groups"]
    assert sc.merged_view(pg_dsn, run_id) == expected


def test_a_shard_with_another_capture_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    har = sc.capture(tmp_path / "c.har")
    other = sc.capture(tmp_path / "d.har", entries=sc.ENTRIES - 1)
    with sc.backends() as (legacy, candidate):
        first = sc.invoke(sc.replay_args(har, pg_dsn, legacy, candidate, "--shard", "1/2", "--run-name", "n"))
        assert first.returncode == 1, first.stderr
        refused = sc.invoke(
            sc.replay_args(other, pg_dsn, legacy, candidate, "--shard", "2/2", "--run-name", "n")
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
