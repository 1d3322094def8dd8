"""explore against a real API whose spec has a servers base path and four security schemes.

The Notes API (tests/explore/notesapi.py) lives under ``/api/v2`` (the spec's ``servers`` URL, built
from its variables) and wants a ``Token`` login token, an API key in a header, one in the query and a
session cookie, each backend its own. Generated requests must reach the operations, authenticated with
each backend's own credentials, so the verdict is about validation, not about 404s and 401s.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from paritycheck.capture import read
from paritycheck.cli import cli
from paritycheck.config import parse
from paritycheck.errors import ExitStatus
from paritycheck.explore import explore
from paritycheck.store import Store
from tests.explore.notesapi import BASE, SPEC, Notes, notes_backends, settings
from tests.servers import refused


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[Notes, Notes]]:
    with notes_backends() as both:
        yield both


def statuses(result, operation: str) -> tuple[Counter[int], Counter[int]]:  # type: ignore[no-untyped-def]
    c = next(c for c in result.coverage if c.operation == operation)
    return Counter(c.legacy), Counter(c.candidate)


async def test_requests_go_to_the_servers_base_path_with_each_backends_own_credentials(
    backends: tuple[Notes, Notes], tmp_path: Path
) -> None:
    legacy, candidate = backends
    legacy.seen.clear()
    config = parse(settings(legacy, candidate), source="test")
    result = await explore(config, SPEC, db=tmp_path / "r.db", seed=1, max_examples=2, all_operations=True)
    assert result.run.status == "complete"
    # Every request went under the base path the servers URL gives (its variables' defaults).
    paths = {path for _, path, _, _ in legacy.seen}
    assert paths and all(p.startswith(f"{BASE}/") for p in paths), paths
    names = {c.operation for c in result.coverage}
    assert {f"GET {BASE}/notes", f"GET {BASE}/stats", f"GET {BASE}/me"} <= names
    # Each scheme was met with each backend's own credential: valid requests pass on both sides.
    for op in ("notes", "stats", "me"):
        legacy_statuses, candidate_statuses = statuses(result, f"GET {BASE}/{op}")
        assert legacy_statuses[200] > 0 and candidate_statuses[200] > 0, (op, legacy_statuses)
    got = [r for r in legacy.seen if r[1] == f"{BASE}/stats" and r[3].get("x-api-key")]
    assert got and {r[3]["x-api-key"] for r in got} == {"legacy-key-1"}
    assert any("api_key=legacy-key-1" in q for _, p, q, _ in legacy.seen if p.startswith(f"{BASE}/notes/"))
    tokens = {h.get("authorization") for _, p, _, h in legacy.seen if p == f"{BASE}/notes"} - {None}
    assert tokens == {"Token legacy-ann"}
    # The no-credentials probes carry none, so both refuse them alike; no placeholder reached a backend.
    unauthenticated = [i for i, r in enumerate(result.plan.requests) if r.kind == "no-credentials"]
    with Store.open(tmp_path / "r.db", create=False) as store:
        by_entry = {x.entry: x for x in store.exchanges(result.run.run_id)}
    assert len(unauthenticated) >= 4
    for i in unauthenticated:
        x = by_entry[i]
        assert x.legacy is not None and x.candidate is not None
        assert x.legacy.status == x.candidate.status == 401, result.plan.requests[i]
    assert not any("paritycheck-explore" in json.dumps(r) for r in legacy.seen + candidate.seen)
    # The seeded difference is found: the port accepts a limit the legacy refuses.
    accepted = [f for f in result.findings if f.accepts_refused]
    assert any(f.operation == f"GET {BASE}/notes" and "limit=51" in f.target for f in accepted)
    # The capture holds placeholders, never a credential.
    text = result.capture.read_text()
    assert "paritycheck-explore.apiKeyQuery" in text and "legacy-key-1" not in text


async def test_generated_writes_need_their_own_opt_in(backends: tuple[Notes, Notes], tmp_path: Path) -> None:
    legacy, candidate = backends
    # [replay] allow_writes lets a replay send a capture's writes; it does not make explore generate any.
    replay_writes = parse(settings(legacy, candidate, replay={"allow_writes": True}), source="test")
    legacy.seen.clear()
    db = tmp_path / "r.db"
    result = await explore(replay_writes, SPEC, db=db, seed=1, max_examples=1, all_operations=True)
    assert {m for m, _, _, _ in legacy.seen} == {"GET", "POST"}  # the [auth] login only
    assert [p for m, p, _, _ in legacy.seen if m == "POST"] == [f"{BASE}/login"]
    assert "unsafe" in result.plan.skipped[f"POST {BASE}/notes"]
    opted = parse(settings(legacy, candidate, explore={"allow_writes": True}), source="test")
    legacy.seen.clear()
    result = await explore(opted, SPEC, db=tmp_path / "r.db", seed=1, max_examples=1, all_operations=True)
    assert any(m == "POST" and p == f"{BASE}/notes" for m, p, _, _ in legacy.seen)
    assert f"POST {BASE}/notes" in result.plan.operations


async def test_an_operation_the_capture_exercised_is_probed_only_for_the_statuses_never_seen(
    backends: tuple[Notes, Notes], tmp_path: Path
) -> None:
    legacy, candidate = backends
    capture = tmp_path / "seen.jsonl"
    lines = [
        {"method": "GET", "url": f"http://x{BASE}/health", "response": {"status": 200}},
        {"method": "GET", "url": f"http://x{BASE}/stats", "response": {"status": 200}},
    ]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = parse(settings(legacy, candidate), source="test")
    result = await explore(config, SPEC, db=tmp_path / "r.db", seed=1, max_examples=2, captures=[capture])
    by_op = {c.operation: c for c in result.coverage}
    health, stats = by_op[f"GET {BASE}/health"], by_op[f"GET {BASE}/stats"]
    # Every documented status seen: nothing generated, and the table says what was seen.
    assert health.source == "capture" and health.seen == (200,) and not health.legacy
    assert f"GET {BASE}/health" not in {r.operation for r in result.plan.requests}
    # 401 never seen: only the probe that can reach it is sent, and it does.
    assert stats.source == "capture+generated" and stats.missing == ("401",)
    kinds = {r.kind for r in result.plan.requests if r.operation == f"GET {BASE}/stats"}
    assert kinds == {"no-credentials"}
    assert stats.legacy == {401: 1} and stats.candidate == {401: 1}
    # Operations never exercised are generated in full, and their statuses are in the table.
    notes = by_op[f"GET {BASE}/notes"]
    assert notes.source == "generated" and notes.legacy and notes.candidate


def test_both_backends_down_is_a_failure_that_says_so(tmp_path: Path) -> None:
    with refused() as legacy, refused() as candidate:
        result = CliRunner().invoke(
            cli,
            ["explore", str(SPEC), "--all", "--max-examples", "1", "--legacy", legacy,
             "--candidate", candidate, "--db", str(tmp_path / "r.db"), "--no-report"],
        )  # fmt: skip
    assert result.exit_code == ExitStatus.FAILURE, result.output
    text = " ".join(result.stdout.split())
    assert f"The legacy backend {legacy} answered no exchange (connection refused)" in text
    assert "UNREACHABLE" in text and "AT PARITY" not in text
    with Store.open(tmp_path / "r.db", create=False) as store:
        assert store.run(store.latest_run_id()).status == "unreachable"


async def test_each_spec_and_seed_gets_its_own_capture(backends: tuple[Notes, Notes], tmp_path: Path) -> None:
    legacy, candidate = backends
    config = parse(settings(legacy, candidate), source="test")
    db = tmp_path / "r.db"
    petstore = SPEC.parents[1] / "v3.0__petstore.yaml"
    first = await explore(config, SPEC, db=db, seed=0, max_examples=1, all_operations=True)
    other = await explore(config, petstore, db=db, seed=0, max_examples=1, all_operations=True)
    again = await explore(config, SPEC, db=db, seed=0, max_examples=1, all_operations=True)
    assert first.capture != other.capture and first.capture == again.capture
    assert first.capture.name.startswith("explore-notes-api-seed0-")
    # The earlier run's capture still holds its own spec's requests.
    assert {x.request.path.split("/")[1] for x in read(first.capture)} == {"api"}
    assert all(x.request.path.startswith(BASE) for x in read(first.capture))
