"""Runs for the report tests, written through the store's own API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store

JSON = (("content-type", "application/json"),)
XSS_BODY = (
    b'{"name": "<script>window.__pwned = 1</script>", "note": "</textarea><img src=x onerror=alert(1)>",'
    b' "link": "javascript:alert(2)", "tpl": "{{ 7*7 }}"}'
)
SECRET = "s3cr3t-bearer-value"


def outcome(
    index: int,
    endpoint: str,
    status: Status,
    *,
    path: str = "/users/1",
    legacy: bytes = b'{"id": 1}',
    candidate: bytes | None = None,
    legacy_ms: float = 10.0,
    candidate_ms: float = 12.0,
    differences: tuple[Difference, ...] = (),
    reason: str | None = None,
    legacy_status: int = 200,
    candidate_status: int = 200,
) -> Outcome:
    """One outcome with a GET request carrying a secret Authorization header."""
    request = Request(
        method=endpoint.split(" ")[0],
        url=f"http://capture.test{path}?api_key={SECRET}",
        path=path,
        query=f"api_key={SECRET}",
        headers=(("authorization", f"Bearer {SECRET}"), ("accept", "application/json")),
    )
    exchange = Exchange(index=index, source="capture.har", request=request)
    if status is Status.SKIPPED:
        return Outcome(exchange=exchange, endpoint=endpoint, status=status, reason=reason or "unsafe method")
    if status is Status.FAILED:
        return Outcome(
            exchange=exchange,
            endpoint=endpoint,
            status=status,
            legacy=Reply(200, JSON, legacy, legacy_ms),
            candidate=Reply(0, (), b"", candidate_ms, error="connection refused"),
            reason=reason or "candidate: connection refused",
        )
    return Outcome(
        exchange=exchange,
        endpoint=endpoint,
        status=status,
        legacy=Reply(legacy_status, JSON, legacy, legacy_ms),
        candidate=Reply(candidate_status, JSON, legacy if candidate is None else candidate, candidate_ms),
        differences=differences,
    )


def demo_outcomes(n: int = 40) -> Iterator[Outcome]:
    """A small run: a matching endpoint, a mismatching one, a slower one, a failure, a skip, an XSS body."""
    for i in range(n):
        yield outcome(
            i,
            "GET /users/{id}",
            Status.MATCHED,
            path=f"/users/{i}",
            legacy_ms=10 + i % 5,
            candidate_ms=11 + i % 5,
        )
    for i in range(n):
        legacy = json.dumps({"id": i, "price": 10.5, "tags": ["a", "b"]}).encode()
        candidate = json.dumps({"id": i, "price": "10.50", "tags": ["a", "b"], "extra": True}).encode()
        diffs = (Difference("type", "$.price", 10.5, "10.50"), Difference("added", "$.extra", None, True))
        yield outcome(
            n + i,
            "GET /orders/{id}",
            Status.MISMATCHED,
            path=f"/orders/{i}",
            legacy=legacy,
            candidate=candidate,
            differences=diffs,
            legacy_ms=20,
            candidate_ms=22,
        )
    for i in range(n):
        yield outcome(
            2 * n + i,
            "GET /reports/summary",
            Status.MATCHED,
            path="/reports/summary",
            legacy_ms=30 + i,
            candidate_ms=300 + 5 * i,
        )
    yield outcome(
        3 * n,
        "GET /search",
        Status.MISMATCHED,
        path="/search",
        legacy=b'{"name": "ok"}',
        candidate=XSS_BODY,
        differences=(Difference("changed", "$.name", "ok", "<script>window.__pwned = 1</script>"),),
    )
    yield outcome(3 * n + 1, "GET /health", Status.FAILED, path="/health")
    yield outcome(
        3 * n + 2,
        "POST /orders",
        Status.SKIPPED,
        path="/orders",
        reason="unsafe method POST (use --allow-writes)",
    )


def write_run(
    store: Store,
    outcomes: Iterator[Outcome] | list[Outcome],
    *,
    status: str = "complete",
    digest: str = "ab" * 32,
) -> int:
    run_id = store.start_run(
        tool_version="0.1.0",
        config={"normalise": {"key_case": "snake"}},
        backends={"legacy": "http://127.0.0.1:5000", "candidate": "http://127.0.0.1:8000"},
        captures=[{"name": "captures/demo.har", "digest": digest}],
    )
    for o in outcomes:
        store.add(run_id, o)
    store.finish_run(run_id, status=status)
    return run_id


#: An OpenAPI description of the demo run: the candidate's string price and long <script> name break it
#: where legacy honours it; both sides miss the users' ``name``; ``/health`` and ``/reports`` are
#: undocumented; ``GET /never`` and the users' 404 are never exercised. The title needs escaping.
SPEC = """
openapi: 3.0.3
info: {title: "Demo <b>API</b>", version: "1"}
paths:
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: an order
          content:
            application/json:
              schema:
                type: object
                required: [id, price]
                properties: {id: {type: integer}, price: {type: number}}
  /users/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: a user
          content:
            application/json:
              schema: {type: object, required: [id, name]}
        "404": {description: no such user}
  /search:
    get:
      responses:
        "200":
          description: a result
          content:
            application/json:
              schema:
                type: object
                properties: {name: {type: string, maxLength: 5}}
  /never:
    get:
      responses:
        "200": {description: never asked}
"""


def add_contract_check(store: Store, run_id: int, folder: Path, *, normalised: bool = False) -> int:
    """Check run ``run_id`` against :data:`SPEC` with the real contract code and store it; its id."""
    from paritycheck.config import NormaliseConfig
    from paritycheck.contract import check_run, load_contract

    spec = folder / "api.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    contract = load_contract(spec, normalise=NormaliseConfig() if normalised else None)
    check_run(contract, store, run_id)
    return store.contract_checks(run_id)[-1].id
