"""The store writer child process: it stores exactly what the parent would, and reports its errors."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from paritycheck.errors import StoreError
from paritycheck.models import Difference, Outcome, Status
from paritycheck.store import Store
from tests.store.storehelpers import outcome, raw, start


def _dump(path: Path) -> list[Any]:
    """Everything a run wrote, without ids and times that legitimately differ between two files."""
    return [
        raw(
            path,
            "SELECT seq, method, url, endpoint, outcome, legacy_body, candidate_body, again_body, reason"
            " FROM exchanges ORDER BY seq",
        ),
        raw(
            path,
            "SELECT e.seq, d.kind, d.path, d.legacy, d.candidate, d.noise FROM differences d"
            " JOIN exchanges e ON e.id = d.exchange_id ORDER BY e.seq, d.path",
        ),
        raw(path, "SELECT digest, size FROM bodies ORDER BY digest"),
    ]


def _mixed_outcomes(n: int) -> list[Outcome]:
    return [
        outcome(
            i,
            status=Status.MISMATCHED if i % 3 == 0 else Status.MATCHED,
            differences=(Difference("changed", "$.name", "a", {"b": [1]}),) if i % 3 == 0 else (),
            noise=(Difference("changed", "$.rid", i, -i),) if i % 5 == 0 else (),
            body=b'{"same": true}' if i % 2 else None,
            request_headers=(("authorization", "Bearer s3cret-token-value"),),
            again=i % 7 == 0,
        )
        for i in range(n)
    ]


def test_child_writer_stores_exactly_what_the_parent_would(tmp_path: Path) -> None:
    outcomes = _mixed_outcomes(1234)
    for name, child in (("parent.db", False), ("child.db", True)):
        with Store.open(tmp_path / name, batch=100) as s:
            run_id = start(s)
            if child:
                s.write_in_child()
            for o in outcomes[:600]:
                s.add(run_id, o)
            # a read in the middle sees everything added before it
            assert sum(1 for _ in s.exchanges(run_id)) == 600
            for o in outcomes[600:]:
                s.add(run_id, o)
            s.finish_run(run_id, status="complete")
            assert s.run(run_id).total == len(outcomes)
    assert _dump(tmp_path / "parent.db") == _dump(tmp_path / "child.db")
    assert b"s3cret-token-value" not in (tmp_path / "child.db").read_bytes()


def test_child_writer_errors_surface_as_store_errors_and_the_child_is_reaped(tmp_path: Path) -> None:
    s = Store.open(tmp_path / "r.db", batch=10)
    run_id = start(s)
    s.write_in_child()
    s.add(run_id, outcome(0))
    s.flush()
    with sqlite3.connect(tmp_path / "r.db") as other:
        other.execute("DROP TABLE differences")
    s.add(run_id, outcome(1, status=Status.MISMATCHED, differences=(Difference("changed", "$.x", 1, 2),)))
    with pytest.raises(StoreError, match="differences"):
        s.flush()
    writer = s._child
    assert writer is not None
    with pytest.raises(StoreError, match="differences"):  # as in-process: the batch is not dropped silently
        s.close()
    assert writer.child.process.returncode is not None  # the child exited and was reaped


@pytest.mark.skipif(sys.platform != "linux", reason="pipe sizes are set with Linux's F_SETPIPE_SZ")
def test_the_writer_child_gets_a_wide_pipe(tmp_path: Path) -> None:
    """A batch of outcomes then fits in the pipe: the event loop does not wait in the write."""
    import fcntl

    from paritycheck.common.childproc import PIPE_BYTES

    with Store.open(tmp_path / "w.db") as store:
        store.write_in_child()
        assert store._child is not None
        size = fcntl.fcntl(store._child.child.stdin.fileno(), fcntl.F_GETPIPE_SZ)
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    assert size == PIPE_BYTES if limit >= PIPE_BYTES else size >= 65536


def test_helper_children_import_the_parents_own_copy_of_the_package() -> None:
    # Child puts this folder first on the child's PYTHONPATH: it must hold the package the parent
    # imported (it held the package's own folder, so children imported whichever copy was installed).
    import paritycheck
    from paritycheck.common import childproc

    assert Path(childproc._ROOT, "paritycheck", "__init__.py") == Path(paritycheck.__file__).resolve()


def test_a_paritycheck_folder_where_the_command_runs_is_not_imported_by_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m`` puts the current folder first on ``sys.path``: a child started in a folder holding
    a ``paritycheck/`` of its own (a checked-out repository, a capture's folder) ran that code."""
    planted = tmp_path / "work" / "paritycheck"
    planted.mkdir(parents=True)
    marker = tmp_path / "ran"
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(9)\n")
    monkeypatch.chdir(planted.parent)
    with Store.open(tmp_path / "r.db") as store:
        run_id = start(store)
        store.write_in_child()
        store.add(run_id, outcome(0))
        store.flush()
        assert store.run(run_id) is not None and sum(1 for _ in store.exchanges(run_id)) == 1
    assert not marker.exists()
