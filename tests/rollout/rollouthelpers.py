"""Stored runs and plans for the rollout tests, through the Store API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from paritycheck import config as cfg
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store
from tests.gate.gatehelpers import add_run, outcome

__all__ = ["SEED", "a_rollout", "add_run", "failing", "later", "outcome", "plan", "timed_window", "window"]

#: The seed-style schedule of issue 24, with evidence small enough for tests.
SEED = """
[[rollout.step]]
share = 10
min_duration = "24h"
min_exchanges = 100
max_error_rate = 0.1

[[rollout.step]]
share = 25
min_duration = "24h"
max_p95_ms = 200
max_p95_ratio = 1.10

[[rollout.step]]
share = 50
min_duration = "24h"
max_new_findings = 0

[[rollout.step]]
share = 100
min_duration = "72h"

[rollout.rollback]
max_error_rate = 5.0

[rollout.page]
max_error_rate = 1.0
"""


def plan(tmp_path: Path, text: str = SEED) -> cfg.Config:
    path = tmp_path / "paritycheck.toml"
    path.write_text(text, encoding="utf-8")
    return cfg.load(path)


def failing(endpoint: str = "GET /items/{id}") -> Outcome:
    """The candidate answered 500 where the legacy answered 200."""
    method, _, path = endpoint.partition(" ")
    exchange = Exchange(0, "test.har", Request(method, f"http://capture{path}", path))
    return Outcome(
        exchange,
        endpoint,
        Status.MISMATCHED,
        Reply(200, elapsed_ms=20.0),
        Reply(500, elapsed_ms=20.0),
        differences=(Difference("status", "status", 200, 500),),
    )


def window(store: Store, good: int, *, bad: int = 0, candidate_ms: float = 20.0) -> int:
    """One finished window of ``good`` matched exchanges and ``bad`` candidate 500s."""
    outcomes: Iterable[Outcome] = [
        *(outcome("GET /items/{id}", candidate_ms=candidate_ms) for _ in range(good)),
        *(failing() for _ in range(bad)),
    ]
    return add_run(store, outcomes)


def later(store: Store, hours: float) -> dt.datetime:
    """``hours`` after the current step began."""
    step = store.current_step()
    assert step is not None
    return step.started_at + dt.timedelta(hours=hours)


def timed_window(
    store: Store, started: dt.datetime, good: int, *, bad: int = 0, candidate_ms: float = 20.0
) -> int:
    """A finished window that began at ``started``."""
    run_id = store.start_run(
        tool_version="test",
        config={},
        backends={"legacy": "http://legacy", "candidate": "http://candidate"},
        captures=[],
        started=started.isoformat(timespec="milliseconds"),
    )
    for o in [*(outcome("GET /items/{id}", candidate_ms=candidate_ms) for _ in range(good))]:
        store.add(run_id, o)
    for _ in range(bad):
        store.add(run_id, failing())
    store.finish_run(run_id, status="complete")
    return run_id


def a_rollout(store: Store, config: cfg.Config, *, now: dt.datetime) -> None:
    """Step 1 for 3 h with a window an hour, then judged; step 2 for 2 h, its second window failing 10%."""
    from paritycheck.rollout import judge, record, start_step

    hour = dt.timedelta(hours=1)
    start_step(store, config, "1", started=(now - 5 * hour).isoformat())
    for i in range(3):
        timed_window(store, now - 5 * hour + i * hour + dt.timedelta(minutes=1), 120)
    record(store, judge(store, config, now=now - 2 * hour - dt.timedelta(minutes=1)))
    start_step(store, config, "2", started=(now - 2 * hour).isoformat())
    timed_window(store, now - 2 * hour + dt.timedelta(minutes=1), 100, candidate_ms=23.0)
    timed_window(store, now - hour + dt.timedelta(minutes=1), 90, bad=10)
    record(store, judge(store, config, now=now))
