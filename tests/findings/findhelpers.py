"""Runs for the findings tests, stored through the store's own API: exchanges with the statuses and
differences a test names."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store

_index = itertools.count()


def exchange(
    endpoint: str,
    *diffs: Difference,
    legacy_status: int = 200,
    candidate_status: int = 200,
) -> Outcome:
    """One exchange of ``endpoint`` ("DELETE /x/{id}") with these statuses and differences; a status
    difference is added when the statuses differ."""
    method, _, path = endpoint.partition(" ")
    i = next(_index)
    request = Request(method, f"http://capture.test{path}", path)
    if legacy_status != candidate_status:
        diffs = (Difference("status", "status", legacy_status, candidate_status), *diffs)
    return Outcome(
        Exchange(i, "capture.har", request),
        endpoint,
        Status.MISMATCHED if diffs else Status.MATCHED,
        Reply(legacy_status, (), b"{}", 10.0),
        Reply(candidate_status, (), b"{}", 11.0),
        differences=tuple(diffs),
    )


def matched(endpoint: str, n: int) -> list[Outcome]:
    return [exchange(endpoint) for _ in range(n)]


def run(store: Store, outcomes: Iterable[Outcome], *, status: str = "complete", **config: Any) -> int:
    """Store one run of ``outcomes`` and finish it with ``status`` ("running": left unfinished)."""
    run_id = store.start_run(
        tool_version="test",
        config=config,
        backends={"legacy": "http://l", "candidate": "http://c"},
        captures=[],
    )
    for o in outcomes:
        store.add(run_id, o)
    if status == "running":
        store.flush()
    else:
        store.finish_run(run_id, status=status)
    return run_id
