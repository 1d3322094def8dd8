"""How a replay is split: the default number of workers, the split handed to them, and shards settled by
the command (run/plan.py, run/shards.py, run/workers.py)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
import shardcase as sc
from harutil import entry, write_har

from paritycheck.capture import read_fast
from paritycheck.config import Backend, Backends, Config
from paritycheck.run import plan as plan_mod
from paritycheck.run.plan import plan_replay
from paritycheck.run.shards import Shard, Split, Splitter, split_captures
from paritycheck.run.workers import WorkerResult, WorkersRun, settle
from paritycheck.store import Store, describe_shards


def _config(url: str) -> Config:
    return Config(backends=Backends(legacy=Backend(url=url), candidate=Backend(url=url)))


REMOTE = _config("https://api.example.com")
LOCAL = _config("http://127.0.0.1:8080")


def _one_session(path: Path) -> Path:
    headers = [("Authorization", "Bearer same")]
    return write_har(path, [entry("GET", f"http://api.test/{i}", headers=headers) for i in range(40)])


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every capture counts as large, on an idle machine of 8 cores."""
    monkeypatch.setattr(plan_mod, "MIN_BYTES_PER_WORKER", 1)
    monkeypatch.setattr(plan_mod, "free_cores", lambda: (8, 8, 0.0))


def test_small_captures_are_one_process_without_a_word(tmp_path: Path) -> None:
    assert plan_mod.choose_workers(REMOTE, [sc.capture(tmp_path / "c.har")]) == (1, None, "")


@pytest.mark.usefixtures("big")
def test_one_session_is_one_process_and_says_why(tmp_path: Path) -> None:
    count, _, note = plan_mod.choose_workers(REMOTE, [_one_session(tmp_path / "c.har")])
    assert count == 1 and note == "one process: the 40 entries to replay are one session"


@pytest.mark.usefixtures("big")
def test_many_sessions_are_shared_by_as_many_workers_as_the_free_cores(tmp_path: Path) -> None:
    count, split, note = plan_mod.choose_workers(REMOTE, [sc.capture(tmp_path / "c.har")])
    assert split is not None and split.sessions == 9
    shares = split.shares(count)
    assert count >= 2 and min(shares) > 0 and sum(shares) == sc.ENTRIES
    assert note.startswith(f"{count} worker processes: 9 sessions, split ")


@pytest.mark.usefixtures("big")
def test_a_worker_needs_two_free_cores_and_a_third_beside_local_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    har = sc.capture(tmp_path / "c.har")
    monkeypatch.setattr(plan_mod, "free_cores", lambda: (2, 2, 0.1))  # this machine, idle
    assert plan_mod.choose_workers(REMOTE, [har]) == (
        1, None, "one process: 2 of 2 cores free (load 0.1); two workers need 4"
    )  # fmt: skip
    monkeypatch.setattr(plan_mod, "free_cores", lambda: (5, 8, 3.2))
    count, split, note = plan_mod.choose_workers(LOCAL, [har])
    assert (count, split) == (1, None) and note.endswith(
        "two workers need 6, the backends answering on this host"
    )
    assert plan_mod.choose_workers(REMOTE, [har])[0] == 2


def test_a_worker_with_nothing_to_do_never_starts(tmp_path: Path) -> None:
    plan = plan_replay(REMOTE, [_one_session(tmp_path / "c.har")], db=tmp_path / "r.db", workers=4)
    assert len(plan.workers) == 1 and sorted(plan.workers + plan.empty) == [1, 2, 3, 4]
    assert "nothing to replay: not started" in plan.note


def test_the_split_hands_every_worker_the_shard_its_own_pass_would_find(tmp_path: Path) -> None:
    har = sc.capture(tmp_path / "c.har")
    split = split_captures(Config(), [har], ["d"])
    split.save(tmp_path / "split")
    loaded = Split.load(tmp_path / "split")
    assert loaded == split and loaded.digests == ("d",)
    scanning = Splitter(Config(), [har], Shard(1, 3, "n"))  # reads the capture itself
    handed = Splitter(Config(), [], Shard(1, 3, "n"), split=loaded)
    for x in read_fast(har):
        assert loaded.hash_of(x.source, x.index) == zlib.crc32(repr(scanning.key(x)).encode())
        assert handed.mine(x) == scanning.mine(x)


def test_the_command_records_shards_its_workers_did_not(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as store:
        for name in ("empty", "stopped"):
            run_id, _ = store.join_shard(
                name, shard=1, count=3, fingerprint={}, tool_version="t", config={}, backends={}, captures=[]
            )
            store.finish_shard(run_id, shard=1, status="complete")
    ok = WorkerResult(1, 0, "")
    settle(db, "empty", WorkersRun([ok]), empty=(2, 3))
    settle(db, "stopped", WorkersRun([ok, WorkerResult(2, 130, ""), WorkerResult(3, None, "")], 2))
    with Store.open(db, create=False) as store:
        empty, stopped = (store.run(store.run_id_named(n) or 0) for n in ("empty", "stopped"))
    assert (empty.status, describe_shards(empty)) == ("complete", "3 of 3 shards complete")
    assert stopped.status == "interrupted" and stopped.meta["shards"]["state"] == {
        "1": "complete", "2": "interrupted", "3": "interrupted"
    }  # fmt: skip


def test_a_split_file_that_is_not_one_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "split").write_bytes(b'{"digests": [], "sessions": 1, "columns": [["c.har", 99]]}\n\x00')
    assert Split.load(tmp_path / "split") is None
    assert Split.load(tmp_path / "missing") is None
