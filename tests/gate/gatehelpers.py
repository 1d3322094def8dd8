"""Build stored runs through the Store API for the gate, known-differences and history tests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store

_counter = iter(range(10**9))


def outcome(
    endpoint: str,
    status: Status = Status.MATCHED,
    *,
    legacy_ms: float = 20.0,
    candidate_ms: float = 20.0,
    diffs: Sequence[Difference] = (),
) -> Outcome:
    """One outcome of ``endpoint`` ("GET /api/x") with the given timings and differences."""
    method, _, path = endpoint.partition(" ")
    i = next(_counter)
    exchange = Exchange(i, "test.har", Request(method, f"http://capture{path}", path))
    if status is Status.FAILED:
        return Outcome(
            exchange,
            endpoint,
            status,
            Reply(200, elapsed_ms=legacy_ms),
            Reply(0, error="connection refused"),
            reason="candidate: connection refused",
        )
    if status is Status.SKIPPED:
        return Outcome(exchange, endpoint, status, reason="unsafe method POST (use --allow-writes)")
    if status is Status.MISMATCHED and not diffs:
        diffs = (Difference("changed", "$.value", 1, 2),)
    return Outcome(
        exchange,
        endpoint,
        status,
        Reply(200, elapsed_ms=legacy_ms),
        Reply(200, elapsed_ms=candidate_ms),
        differences=tuple(diffs),
    )


def add_run(
    store: Store,
    outcomes: Iterable[Outcome],
    *,
    status: str = "complete",
    config: dict[str, Any] | None = None,
    captures: list[dict[str, str]] | None = None,
) -> int:
    """Store one run of ``outcomes``; ``status`` "running" leaves it unfinished."""
    run_id = store.start_run(
        tool_version="test",
        config=config or {},
        backends={"legacy": "http://legacy", "candidate": "http://candidate"},
        captures=captures or [],
    )
    for o in outcomes:
        store.add(run_id, o)
    if status == "running":
        store.flush()
    else:
        store.finish_run(run_id, status=status)
    return run_id


def counts(
    endpoint: str, *, matched: int = 0, mismatched: int = 0, failed: int = 0, skipped: int = 0
) -> list[Outcome]:
    """Outcomes with constant 20 ms timings, in the given numbers."""
    return (
        [outcome(endpoint) for _ in range(matched)]
        + [outcome(endpoint, Status.MISMATCHED) for _ in range(mismatched)]
        + [outcome(endpoint, Status.FAILED) for _ in range(failed)]
        + [outcome(endpoint, Status.SKIPPED) for _ in range(skipped)]
    )


def timed(endpoint: str, legacy: Sequence[float], candidate: Sequence[float]) -> list[Outcome]:
    """Matched outcomes with the given latency pairs."""
    return [outcome(endpoint, legacy_ms=a, candidate_ms=b) for a, b in zip(legacy, candidate, strict=True)]


def base_latency(rng: random.Random, n: int) -> list[float]:
    """A realistic latency sample: 50 ms floor plus an exponential tail (mean 10 ms; p95 ~ 80 ms)."""
    return [50.0 + rng.expovariate(1 / 10) for _ in range(n)]


def open_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "runs.db")
