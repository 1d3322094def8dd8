"""Storing noise: flagging differences, reclassifying exchanges, the summary and its JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck.errors import StoreError
from paritycheck.gate import summarise
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.noise import NoisePath, noise_paths
from paritycheck.store import Store

TOKEN = Difference("changed", "$.items[3].token", "a", "b")
PRICE = Difference("changed", "$.price", 1, 2)


def outcome(i: int, endpoint: str, *diffs: Difference) -> Outcome:
    request = Request(method="GET", url=f"http://h/x/{i}", path=f"/x/{i}")
    reply = Reply(200, (("content-type", "application/json"),), b"{}", 1.0)
    return Outcome(
        exchange=Exchange(index=i, source="c.har", request=request),
        endpoint=endpoint,
        status=Status.MISMATCHED if diffs else Status.MATCHED,
        legacy=reply,
        candidate=reply,
        differences=diffs,
    )


def run_with(store: Store, *outcomes: Outcome) -> int:
    run_id = store.start_run(tool_version="t", config={}, backends={}, captures=[])
    for o in outcomes:
        store.add(run_id, o)
    store.finish_run(run_id, status="complete")
    return run_id


def token_noise(endpoint: str = "GET /x/{id}") -> NoisePath:
    return NoisePath(endpoint, "$.items[*].token", 5, 5, 2, 3, "legacy re-asks differed", ("changed",))


def test_exchanges_with_only_noise_become_matched(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        run_id = run_with(
            store,
            outcome(0, "GET /x/{id}", TOKEN),
            outcome(1, "GET /x/{id}", TOKEN, PRICE),
            outcome(2, "GET /x/{id}"),
        )
        assert store.apply_noise(run_id, [token_noise()]) == 1
        by_entry = {x.entry: x for x in store.exchanges(run_id)}
        assert by_entry[0].outcome is Status.MATCHED and by_entry[0].differences == ()
        assert [d.path for d in by_entry[0].noise] == ["$.items[3].token"]
        assert by_entry[1].outcome is Status.MISMATCHED, "a real difference keeps the exchange mismatched"
        assert by_entry[1].differences == (PRICE,)
        run = store.run(run_id)
        assert (run.matched, run.mismatched) == (2, 1), "the finished run's totals follow"
        assert noise_paths(store, run_id) == [token_noise()]


def test_noise_of_one_endpoint_does_not_touch_another(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        run_id = run_with(store, outcome(0, "GET /x/{id}", TOKEN), outcome(1, "GET /y", TOKEN))
        store.apply_noise(run_id, [token_noise()])
        outcomes = {x.endpoint: x.outcome for x in store.exchanges(run_id)}
        assert outcomes == {"GET /x/{id}": Status.MATCHED, "GET /y": Status.MISMATCHED}


def test_other_kinds_on_a_noise_path_stay_reported(tmp_path: Path) -> None:
    removed = Difference("removed", "$.items[0].token", "a", None)
    with Store.open(tmp_path / "r.db") as store:
        run_id = run_with(store, outcome(0, "GET /x/{id}", removed))
        store.apply_noise(run_id, [token_noise()])
        (x,) = store.exchanges(run_id)
        assert x.outcome is Status.MISMATCHED
        assert [(d.kind, d.path) for d in x.differences] == [("removed", "$.items[0].token")]


def test_summary_lists_noise_and_leaves_it_out_of_differences(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        run_id = run_with(store, outcome(0, "GET /x/{id}", TOKEN), outcome(1, "GET /x/{id}", TOKEN, PRICE))
        store.apply_noise(run_id, [token_noise()])
        summary = summarise(store, run_id)
    (ep,) = summary.endpoints
    assert (ep.matched, ep.mismatched) == (1, 1)
    assert [d.path for d in ep.differences] == ["$.price"]
    assert ep.noise == [token_noise()]
    doc = summary.to_json()["endpoints"][0]
    assert doc["noise"] == [{"path": "$.items[*].token", "samples": 5, "differed": 5}]


def test_applying_again_replaces_the_stored_paths(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store:
        run_id = run_with(store, outcome(0, "GET /x/{id}", TOKEN))
        store.apply_noise(run_id, [token_noise()])
        store.apply_noise(run_id, [token_noise()])
        assert len(store.noise_paths(run_id)) == 1


def test_noise_paths_of_an_unknown_run_is_a_store_error(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.db") as store, pytest.raises(StoreError, match="no run 7"):
        noise_paths(store, 7)
