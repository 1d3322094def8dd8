"""Sessions for shadowed requests: strict sample backends, the demo's front end through a real proxy.

The strict backends sign their own tokens, reject each other's and generate their own ids and slugs.
Without sessions the candidate rejects the legacy's tokens; with them (the client's own login learned,
or an ``[auth]`` login) the only differences left are the seeded real ones (docs/demo.md 8, 9, 10, 12).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp import web
from click.testing import CliRunner

from paritycheck import samples
from paritycheck.cli import cli
from paritycheck.config import parse
from paritycheck.errors import BackendError
from paritycheck.live import LiveOptions, LiveServer
from paritycheck.live.sessions import LiveSessions
from paritycheck.models import Exchange, Reply, Request
from paritycheck.replay import Engine, make_transport
from paritycheck.samples import data
from paritycheck.samples.record import Session, play
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, live
from tests.session.test_acceptance import BASE, BOARD, SEEDED

_INDEX = re.compile(r"\[\d+\]")
#: Seeded differences the demo session shows without its projects part (12 is a projects one).
SEEDED_READS = {d for d in SEEDED if "/projects" not in d[0]}
AUTH = {
    "path": "/api/v1/auth/login",
    "body": {"email": data.DEMO_EMAIL, "password": data.DEMO_PASSWORD},
    "token": "$.access_token",
}


def found(db: Path, run_id: int) -> tuple[set[tuple[str, str, str]], dict[str, int]]:
    """(endpoint, kind, path) of the run's differences (array indexes as ``[*]``; the task board left
    out, as in the recorded acceptance test), outcomes by status."""
    seen: set[tuple[str, str, str]] = set()
    outcomes: dict[str, int] = {}
    with Store.open(db, create=False) as store:
        for e in store.exchanges(run_id):
            outcomes[e.outcome] = outcomes.get(e.outcome, 0) + 1
            if any(part in e.endpoint for part in BOARD):
                continue  # the task board's seeded differences: tests/samples/test_demo_verdicts.py
            for d in e.differences:
                seen.add((e.endpoint, d.kind, _INDEX.sub("[*]", d.path)))
    # The goals list shows difference 8 on every item: one shape, as in the recorded acceptance test.
    return seen - {("GET /api/v1/goals", "changed", "$.items[*].progress_percent")}, outcomes


async def proxied(
    settings: dict[str, Any], db: Path, *, projects: bool, **options: Any
) -> tuple[LiveServer, int]:
    """The demo's front-end session through a proxy before strict samples; the window's run id."""
    # No A/A noise learning: BASE's rules already remove the noise, and a re-ask made after the client's
    # later writes (the project deleted) would call real differences noise and hide them.
    settings = {"noise": {"samples": 0}, **settings}
    async with samples.running(summary_delay=0, strict_auth=True) as s:
        config = parse(
            {**settings, "backends": {"legacy": s.legacy_url, "candidate": s.candidate_url}}, source="test"
        )
        async with live(config, db, window_seconds=0, **options) as server:
            url = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
                netloc = urlsplit(url).netloc
                await play(Session(client, real_netloc=netloc, recorded_netloc=netloc), projects=projects)
            run_id = await server.stop()
    assert run_id is not None
    t = server.metrics.totals
    assert t.seen == t.shadowed + t.skipped + t.dropped > 0 and t.dropped == 0
    return server, run_id


async def test_proxy_without_sessions_the_candidate_rejects_the_legacys_tokens(tmp_path: Path) -> None:
    settings = {**BASE, "sessions": {"key": "none"}}
    _, run_id = await proxied(settings, tmp_path / "s.db", projects=True)
    differences, _ = found(tmp_path / "s.db", run_id)
    assert ("GET /api/v1/kpis", "status", "status") in differences  # 200 on legacy, 401 on candidate
    assert len(differences - SEEDED) > 5
    with Store.open(tmp_path / "s.db", create=False) as store:
        rejected = [
            e.url
            for e in store.exchanges(run_id)
            if e.legacy and e.candidate and (e.legacy.status, e.candidate.status) == (200, 401)
        ]
    assert len(rejected) > 20


async def test_proxy_learns_the_candidates_own_token_ids_and_slugs(tmp_path: Path) -> None:
    server, run_id = await proxied(BASE, tmp_path / "s.db", projects=True)
    differences, outcomes = found(tmp_path / "s.db", run_id)
    assert differences == SEEDED, differences - SEEDED
    assert outcomes.get("failed", 0) == 0 and outcomes.get("skipped", 0) == 0
    status = server.status()["sessions"]
    correlations = status["correlations"]
    assert correlations["learned"] and correlations["applied"] and correlations["differences_removed"]
    assert status["logins"] is None  # no [auth]: the client's own logins were shadowed and learned
    with Store.open(tmp_path / "s.db", create=False) as store:
        recorded = store.run(run_id).meta["sessions"]  # the window's run records them (a merge patch:
    assert recorded == {k: v for k, v in status.items() if v is not None}  # no nulls)


async def test_proxy_auth_login_gives_the_candidate_its_own_token(tmp_path: Path) -> None:
    """Writes not shadowed (the default): the client's login is skipped, the candidate uses [auth]."""
    reads = {**BASE, "replay": {"allow_writes": False}}
    _, run_id = await proxied(reads, tmp_path / "none.db", projects=False)
    differences, _ = found(tmp_path / "none.db", run_id)
    assert ("GET /api/v1/auth/me", "removed", "$.email") in differences  # the legacy's token: 401
    server, run_id = await proxied({**reads, "auth": AUTH}, tmp_path / "s.db", projects=False)
    differences, outcomes = found(tmp_path / "s.db", run_id)
    assert differences == SEEDED_READS, differences - SEEDED_READS
    assert outcomes["skipped"] == 2 and outcomes.get("failed", 0) == 0  # the two login POSTs
    assert server.status()["sessions"]["logins"] == {"legacy": 0, "candidate": 1}


def bounded(**limits: Any) -> tuple[LiveSessions, list[float]]:
    """Live sessions whose clock the test moves; nothing is sent (``turn`` only files requests)."""
    now = [0.0]
    backends = {"legacy": "http://127.0.0.1:1", "candidate": "http://127.0.0.1:2"}
    config = parse({"backends": backends}, source="test")
    engine = Engine(
        legacy=config.backends.legacy,
        candidate=config.backends.candidate,
        transport=make_transport("httpx", concurrency=1),
        timeout=1.0,
    )
    return LiveSessions(config, engine, mode="proxy", clock=lambda: now[0], **limits), now


def request(method: str, token: str, index: int = 0) -> Exchange:
    headers = (("authorization", f"Bearer {token}"),)
    return Exchange(index=index, source="proxy", request=Request(method, "/p", "/p", "", headers, None))


async def test_sessions_are_bounded_by_count_and_idle_time() -> None:
    sessions, now = bounded(max_sessions=3, ttl=60.0)
    for i in range(10):
        sessions.turn(request("GET", f"user-{i}"), "GET /p", None).cancel()
    status = sessions.status()
    assert (status["active"], status["started"], status["forgotten"]) == (3, 10, 7)
    again = sessions.turn(request("GET", "user-9"), "GET /p", None)  # still known: the same session
    again.cancel()
    assert sessions.status()["started"] == 10
    now[0] = 61.0  # idle past the TTL: forgotten on the next request
    sessions.turn(request("GET", "user-9"), "GET /p", None).cancel()
    status = sessions.status()
    assert (status["active"], status["started"], status["forgotten"]) == (1, 11, 10)


async def test_a_session_is_ordered_from_its_first_write_on() -> None:
    sessions, _ = bounded()
    read = sessions.turn(request("GET", "ana", 0), "GET /p", None)
    write = sessions.turn(request("POST", "ana", 1), "POST /p", None)
    later = sessions.turn(request("GET", "ana", 2), "GET /p", None)
    other = sessions.turn(request("GET", "bo", 3), "GET /p", None)
    assert read.waits == [] and other.waits == []
    assert write.waits == [read.done] and later.waits == [write.done]
    for turn in (read, write, later, other):
        turn.cancel()


async def test_values_learned_per_session_are_capped() -> None:
    sessions, _ = bounded(max_values=10)
    for i in range(40):
        created = Reply(status=201, headers=(("content-type", "application/json"),),
                        body=f'{{"id": "project-{i:04d}-abcdef"}}'.encode())  # fmt: skip
        turn = sessions.turn(request("POST", "ana", i), "POST /p", created)
        await turn.pair(created)  # the candidate (port 2) refuses: only the legacy's values are learned
    assert turn.group is not None
    assert 0 < len(turn.group.values["legacy"]) <= 10
    assert 0 < len(turn.group.produced) <= 11
    await sessions.engine.transport.aclose()


async def test_a_session_that_lost_a_write_is_skipped_not_reported(tmp_path: Path) -> None:
    """A write over --max-rps never reached the candidate: the session's later reads would differ for
    that reason alone, so they are skipped with the reason; other sessions are shadowed as before."""

    async def items(request: web.Request) -> web.StreamResponse:
        return web.json_response({"id": request.match_info["tail"] or "new"}, status=200)

    async with (
        backend(items) as legacy,
        backend(items) as candidate,
        live(config(legacy, candidate, allow_writes=True), tmp_path / "s.db", max_rps=1) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        ana, bo = {"Authorization": "Bearer ana-token"}, {"Authorization": "Bearer bo-token"}
        await client.get("/health", headers=bo)  # takes the one shadow of this second
        await client.post("/items", headers=ana, json={"name": "x"})  # over the rate: lost
        await asyncio.sleep(1.1)
        await client.get("/items/1", headers=ana)
        await asyncio.sleep(1.1)
        await client.get("/items/2", headers=bo)
        await server.stop()
    reasons = server.metrics.totals.reasons
    assert reasons == {
        "over --max-rps": 1,
        "session incomplete: an earlier write was not shadowed (over --max-rps)": 1,
    }
    assert server.metrics.totals.shadowed == 2


async def test_a_refused_auth_login_stops_the_start_with_nothing_stored(tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "bad credentials"}, status=401)

    async with backend(refuse) as legacy, backend(refuse) as candidate:
        settings = {"backends": {"legacy": legacy, "candidate": candidate}, "auth": AUTH}
        options = LiveOptions(mode="proxy", listen="127.0.0.1:0", db=tmp_path / "s.db")
        server = LiveServer(parse(settings, source="test"), options)
        with pytest.raises(BackendError, match=r"candidate: \[auth\] login POST /api/v1/auth/login"):
            await server.start()
    assert not (tmp_path / "s.db").exists()


def test_cli_names_the_refused_login_and_exits_3(tmp_path: Path) -> None:
    """Through the CLI: the message keeps its ``[auth]`` (printed as text, not rich markup)."""
    (tmp_path / "p.toml").write_text('[auth]\npath = "/login"\nbody = { user = "a" }\ntoken = "$.token"\n')
    backends = ["--legacy", "http://127.0.0.1:1", "--candidate", "http://127.0.0.1:2"]
    files = ["--config", str(tmp_path / "p.toml"), "--db", str(tmp_path / "s.db")]
    args = ["proxy", "--listen", "127.0.0.1:0", *backends, *files]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3, result.output
    assert "error: candidate: [auth] login POST /login failed: connection refused" in result.output
    assert not (tmp_path / "s.db").exists()


async def test_noise_is_not_learned_from_reasks_made_after_the_sessions_later_writes(
    tmp_path: Path,
) -> None:
    """Noise learning on: a legacy re-ask of GET /projects/1 made after the client deleted it would see
    404 for 200, and 'status' would become noise on every endpoint, hiding seeded bug 9 (KPI 999)."""
    # One worker: the shadows trail the client, so re-asks tend to come after its later writes.
    settings = {**BASE, "noise": {"samples": 5}}
    _, run_id = await proxied(settings, tmp_path / "s.db", projects=True, workers=1)
    differences, _ = found(tmp_path / "s.db", run_id)
    assert differences == SEEDED, SEEDED - differences


async def test_a_reask_is_stale_once_a_later_write_of_its_session_was_answered() -> None:
    sessions, _ = bounded()
    read, other, write = request("GET", "ana", 0), request("GET", "bo", 1), request("DELETE", "ana", 2)
    for exchange in (read, other, write):  # the legacy answered them in this order
        sessions.offered(exchange)
    late = request("GET", "ana", 3)
    sessions.offered(late)
    turns = [sessions.turn(e, "GET /p", None) for e in (read, other, late)]
    assert [t.stale() for t in turns] == [True, False, False]  # only ana's read from before the delete
    for turn in turns:
        turn.cancel()
    assert sessions.status()["stale_reasks_skipped"] == 1
