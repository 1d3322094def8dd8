"""``replay --resume``: continue a stopped run with no duplicates and no gaps, against real servers."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from paritycheck.config import parse
from paritycheck.errors import ExitStatus
from paritycheck.run import runner
from paritycheck.store import Store
from tests.harutil import entry, gets, replay_args, write_har
from tests.servers import json_serve


def _paritycheck(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "paritycheck", *args, "--db", str(tmp_path / "r.db"), "--no-report"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_resume_after_sigterm_stores_every_entry_once(tmp_path: Path) -> None:
    har = write_har(tmp_path / "c.har", gets("http://x", [f"/item/{i}" for i in range(300)]))
    with json_serve(delay=0.02) as legacy, json_serve(delay=0.02) as cand:
        proc = _paritycheck(tmp_path, *replay_args(har, legacy.url, cand.url, "--concurrency", "4"))
        deadline = time.monotonic() + 30
        while len(cand.requests) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == ExitStatus.TERMINATED, err.decode()
        with Store.open(tmp_path / "r.db", create=False) as store:
            kept = len(store.stored_entries(1))
        assert 0 < kept < 300
        first = len(cand.requests)
        # Resume with the same file under another path: the digest, not the name, identifies it.
        moved = tmp_path / "moved.har"
        moved.write_bytes(har.read_bytes())
        proc = _paritycheck(tmp_path, *replay_args(moved, legacy.url, cand.url, "--resume"))
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode in (ExitStatus.OK, ExitStatus.DIFFERENCES), err.decode()
        second = len(cand.requests) - first
    assert second == 300 - kept  # only what was not stored
    with Store.open(tmp_path / "r.db", create=False) as store:
        (run,) = store.runs()
        rows = (
            sqlite3.connect(tmp_path / "r.db")
            .execute("SELECT entry FROM exchanges ORDER BY entry")
            .fetchall()
        )
    assert [e for (e,) in rows] == list(range(300))  # no duplicates, no gaps
    assert run.status == "complete" and run.total == 300
    assert run.meta["resumed"]["times"] == 1 and run.meta["resumed"]["kept"] == kept


def test_resume_refuses_other_captures_and_finished_runs(tmp_path: Path) -> None:
    har = write_har(tmp_path / "c.har", gets("http://x", ["/a", "/b"]))
    other = write_har(tmp_path / "o.har", gets("http://x", ["/c"]))
    with json_serve() as legacy, json_serve() as cand:
        proc = _paritycheck(tmp_path, *replay_args(har, legacy.url, cand.url))
        proc.communicate(timeout=60)
        proc = _paritycheck(tmp_path, *replay_args(har, legacy.url, cand.url, "--resume"))
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == ExitStatus.USAGE and b"no interrupted or crashed run" in err
        with Store.open(tmp_path / "r.db", create=False) as store:
            store.finish_run(1, status="interrupted")
        proc = _paritycheck(tmp_path, *replay_args(other, legacy.url, cand.url, "--run", "1"))
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitStatus.USAGE and b"replayed other captures" in err


async def test_a_partly_stored_writing_session_is_replayed_from_its_start(tmp_path: Path) -> None:
    def session(name: str) -> list[dict[str, object]]:
        auth = [("Authorization", f"Bearer {name}")]
        return [
            entry("POST", f"http://x/{name}/items", body="{}", headers=auth),
            *[entry("GET", f"http://x/{name}/items/{i}", headers=auth) for i in range(4)],
        ]

    har = write_har(tmp_path / "s.har", session("alice") + session("bob"))
    db = tmp_path / "r.db"
    with json_serve() as legacy, json_serve() as cand:
        backends = {"legacy": legacy.url, "candidate": cand.url}
        config = parse({"backends": backends, "replay": {"allow_writes": True}}, source="t")
        await runner.replay_captures(config, [har], db=db)
        # As if stopped part-way: bob's last two reads were never stored.
        conn = sqlite3.connect(db)
        with conn:
            conn.execute(
                "DELETE FROM differences WHERE exchange_id IN (SELECT id FROM exchanges WHERE entry >= 8)"
            )
            conn.execute("DELETE FROM exchanges WHERE entry >= 8")
            conn.execute("UPDATE runs SET status = 'interrupted'")
        conn.close()
        before = len(cand.requests)
        result = await runner.replay_captures(config, [har], db=db, resume=True)
        again = cand.paths[before:]
    assert sorted(again) == sorted(["/bob/items"] + [f"/bob/items/{i}" for i in range(4)])
    assert result.status == "complete" and result.summary.total == 10
    with Store.open(db, create=False) as store:
        assert sorted(e for _s, e in store.stored_entries(result.run_id)) == list(range(10))
        assert store.run(result.run_id).meta["resumed"]["replayed_again"] == 3
