"""Shards and workers on SQLite: the split, missing shards, refusals, resuming a shard, --workers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import shardcase as sc
from click.testing import CliRunner

from paritycheck.cli import cli
from paritycheck.config import Config, SessionsConfig
from paritycheck.errors import ConfigError
from paritycheck.models import Exchange, Request
from paritycheck.run import parse_shard
from paritycheck.run.shards import Splitter
from paritycheck.store import Store, describe_shards


def _shard(har: Path, db: Path, urls: tuple[str, str], spec: str, *extra: str) -> int:
    result = sc.invoke(sc.replay_args(har, db, *urls, "--shard", spec, "--run-name", "n", *extra))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode


def test_every_exchange_is_in_exactly_one_shard_and_sessions_stay_whole(tmp_path: Path) -> None:
    har = sc.capture(tmp_path / "c.har")
    config = Config()
    from paritycheck.capture import read_fast

    exchanges = list(read_fast(har))
    owners: dict[int, list[int]] = {}
    for i in range(1, 4):
        splitter = Splitter(config, [har], parse_shard(f"{i}/3", name="n"))
        for x in exchanges:
            if splitter.mine(x):
                owners.setdefault(x.index, []).append(i)
    assert sorted(owners) == [x.index for x in exchanges] and all(len(v) == 1 for v in owners.values())
    by_session: dict[str, set[int]] = {}
    for x in exchanges:
        by_session.setdefault(dict(x.request.headers)["authorization"], set()).update(owners[x.index])
    assert all(len(shards) == 1 for shards in by_session.values())
    assert len({s for shards in by_session.values() for s in shards}) > 1  # not all in one shard


def test_markers_that_meet_in_one_exchange_are_one_session(tmp_path: Path) -> None:
    def ex(i: int, headers: tuple[tuple[str, str], ...]) -> Exchange:
        return Exchange(i, "c.har", Request("GET", f"http://a.test/{i}", f"/{i}", headers=headers))

    splitter = Splitter(Config(), [], parse_shard("1/2", name="n"))
    splitter._join([[("authorization", "A"), ("cookie", "sid", "1")], [("cookie", "sid", "2")]])
    assert splitter.key(ex(1, (("cookie", "sid=1"),))) == splitter.key(ex(2, (("authorization", "A"),)))
    none = Splitter(Config(sessions=SessionsConfig(key="none")), [], parse_shard("1/2", name="n"))
    assert none.key(ex(1, ())) != none.key(ex(2, ()))


@pytest.mark.parametrize("text", ["0/4", "5/4", "x", "1/0"])
def test_bad_shard_option(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_shard(text, name="n")
    with pytest.raises(ConfigError, match="--run-name"):
        parse_shard("1/2", name=None)


def test_missing_shards_fail_the_gate_and_are_named(tmp_path: Path) -> None:
    har, db = sc.capture(tmp_path / "c.har"), tmp_path / "r.db"
    with sc.backends() as urls:
        assert _shard(har, db, urls, "1/4") == 1  # the candidate differs in every shard
        # --exit-zero: the Indexed Job's pods succeed and leave the verdict to the gate (deploy/nightly.yaml)
        assert _shard(har, db, urls, "2/4", "--exit-zero") == 0
        _shard(har, db, urls, "4/4")
        with Store.open(db, create=False) as store:  # a later run, as a live window's, is the latest
            store.start_run(tool_version="t", config={}, backends={}, captures=[])
        runner = CliRunner()
        gate = runner.invoke(cli, ["gate", "--db", str(db), "--run-name", "n"], env={"COLUMNS": "300"})
        assert gate.exit_code == 1
        assert "3 of 4 shards complete" in gate.output
        unknown = runner.invoke(cli, ["gate", "--db", str(db), "--run-name", "nightly-x"])
        assert unknown.exit_code == 2 and "no run is named 'nightly-x'" in unknown.output
        both = runner.invoke(cli, ["report", "--db", str(db), "--run", "1", "--run-name", "n"])
        assert both.exit_code == 2 and "cannot be combined" in both.output
        history = runner.invoke(cli, ["history", "--db", str(db)], env={"COLUMNS": "200"})
        assert "waiting (3 of 4 shards complete)" in history.output  # not crashed: shard 3 may come
        report = runner.invoke(
            cli, ["report", "--db", str(db), "--run-name", "n", "--html", str(tmp_path / "r.html")]
        )
        assert report.exit_code == 0 and "3 of 4 shards complete" in report.output
        # A period leaves the waiting run out, and says so, rather than failing on it.
        assert sc.invoke(sc.replay_args(har, db, *urls)).returncode == 1
        since = runner.invoke(cli, ["gate", "--db", str(db), "--since", "1h", "--json"])
        verdict = json.loads(since.output)
        assert [r["id"] for r in verdict["included"]] == [3] and "1 waiting for shards" in verdict["period"]
        assert next(c for c in verdict["criteria"] if c["name"] == "runs complete")["passed"]
        _shard(har, db, urls, "3/4")
    with Store.open(db, create=False) as store:
        run = store.run(store.run_id_named("n") or 0)
        assert (run.status, run.total, describe_shards(run)) == (
            "complete",
            sc.ENTRIES,
            "4 of 4 shards complete",
        )


def test_refusals_are_one_line(tmp_path: Path) -> None:
    har, db = sc.capture(tmp_path / "c.har"), tmp_path / "r.db"
    with sc.backends() as urls:
        _shard(har, db, urls, "1/2")
        cases = {
            ("1/2",): "that shard is already complete",
            ("2/3",): "the run was started with 2 shards",
            ("2/2", "--include", "GET /items/*"): "its effective rules differ",
        }
        for (spec, *extra), message in cases.items():
            args = sc.replay_args(har, db, *urls, "--shard", spec, "--run-name", "n", *extra)
            result = sc.invoke(args)
            assert result.returncode == 2 and message in result.stderr, result.stderr
            assert "Traceback" not in result.stderr


def test_a_rerun_of_an_interrupted_shard_adds_only_what_is_missing(tmp_path: Path) -> None:
    har, db = sc.capture(tmp_path / "c.har"), tmp_path / "r.db"
    with sc.backends() as urls:
        _shard(har, db, urls, "1/2")
        _shard(har, db, urls, "2/2")
        # As if shard 2 had been killed after storing part of its exchanges:
        with sqlite3.connect(db) as conn:
            lost = "SELECT id FROM exchanges WHERE seq % 2 = 1 AND seq > 60"
            conn.execute(f"DELETE FROM differences WHERE exchange_id IN ({lost})")
            conn.execute(f"DELETE FROM exchanges WHERE id IN ({lost})")
            meta = '{"shards": {"state": {"2": "running"}}}'
            conn.execute(
                "UPDATE runs SET status = 'running', total = NULL, meta = json_patch(meta, ?)", (meta,)
            )
        _shard(har, db, urls, "2/2")
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT source, entry FROM exchanges").fetchall()
        assert len(keys) == len(set(keys)) == sc.ENTRIES
        assert conn.execute("SELECT status, total FROM runs").fetchone() == ("complete", sc.ENTRIES)


def test_workers_store_one_merged_run_like_one_process(tmp_path: Path) -> None:
    har = sc.capture(tmp_path / "c.har")
    with sc.backends() as urls:
        one = sc.run(sc.replay_args(har, tmp_path / "one.db", *urls), tmp_path)
        two = sc.run(sc.replay_args(har, tmp_path / "two.db", *urls, "--workers", "2"), tmp_path)
    assert one.returncode == two.returncode == 1, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    for key in ("total", "matched", "mismatched", "failed", "skipped"):
        assert a[key] == b[key]
    assert b["shards"] == "2 of 2 shards complete" and a["shards"] is None
    assert a["sessions"]["count"] == b["sessions"]["count"] == 9  # every worker's sessions, added up
    assert "2 worker processes (--workers 2): 9 sessions, split " in two.stderr


def test_processes_opening_a_new_sqlite_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []
    for k in range(10):
        path = tmp_path / f"r{k}.db"

        def opener(path: Path = path) -> None:
            try:
                Store.open(path).close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def _suggested_rules(db: Path) -> list[str]:
    """The TOML lines ``suggest`` prints, less comments (their evidence counts differ by design)."""
    result = CliRunner().invoke(cli, ["suggest", "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_noise_seen_in_one_shard_is_judged_on_the_whole_run(tmp_path: Path) -> None:
    """``$.nonce`` varies between the legacy's own answers only in one shard's sessions, and differs
    on every exchange: that shard alone would call it noise and hide a real difference. Merged, the
    evidence of all four shards gives what one process gives."""
    har, db = sc.noisy_capture(tmp_path / "c.har"), tmp_path / "r.db"
    with sc.backends() as urls:
        one = sc.run(sc.replay_args(har, tmp_path / "one.db", *urls), tmp_path)
        assert one.returncode == 1, one.stderr
        procs = [
            sc.start(sc.replay_args(har, db, *urls, "--shard", f"{i}/4", "--run-name", "n"), tmp_path)
            for i in range(1, 5)
        ]
        for p in procs:
            assert p.wait(timeout=300) == 1, p.stderr.read() if p.stderr else ""
            p.stdout and p.stdout.close()
            p.stderr and p.stderr.close()
    expected = sc.merged_view(tmp_path / "one.db", 1)
    assert ("GET /noisy/{id}", "changed", "$.nonce", 36) in expected["groups"]
    assert sc.merged_view(db, 1) == expected
    assert _suggested_rules(db) == _suggested_rules(tmp_path / "one.db")
    with sqlite3.connect(db) as conn:  # every shard stored its evidence; the last classed on all four
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT shard) FROM noise_evidence").fetchone() == (4, 4)
        samples = conn.execute("SELECT samples FROM noise_paths WHERE path = '$.stamp'").fetchone()
        assert samples == (20,)  # 5 A/A samples of /noisy in each shard


def test_shards_learn_endpoint_templates_from_the_whole_capture(tmp_path: Path) -> None:
    """Usernames in paths: 12 in all, one per session, so each of 4 shards replays only a few. Every
    shard names the endpoint ``{param}`` as one process does, learned from the whole capture."""
    from harutil import entry, write_har

    names = [f"user_{i}.x" for i in range(12)]
    har = write_har(
        tmp_path / "people.har",
        [
            entry("GET", f"http://api.test/people/{name}", headers=[("Authorization", f"Bearer s-{i}")])
            for i, name in enumerate(names)
        ],
    )
    with sc.backends() as urls:
        sc.invoke(sc.replay_args(har, tmp_path / "one.db", *urls))
        for i in range(1, 5):
            _shard(har, tmp_path / "four.db", urls, f"{i}/4")

    def endpoints(db: Path) -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT endpoint, COUNT(*) FROM exchanges GROUP BY endpoint").fetchall())

    assert endpoints(tmp_path / "one.db") == {"GET /people/{param}": 12}
    assert endpoints(tmp_path / "four.db") == endpoints(tmp_path / "one.db")
