"""Sessions in mirror mode: copies of a client's session replayed to a legacy shadow and the candidate.

The client talks to a production legacy; a tee sends each request's copy to a real ``paritycheck
mirror`` first (as nginx's ``mirror`` or GoReplay would), which replays it to a second legacy instance
(the shadow) and the candidate, all strict sample backends. The production answers never reach the
sink, so the tokens the client sends are unknown to both: ``[auth]`` gives each its own login, and the
ids and slugs each generates are correlated through the legacy shadow's answers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from paritycheck import samples
from paritycheck.config import parse
from paritycheck.live import LiveServer
from paritycheck.samples import legacy as legacy_sample
from paritycheck.samples import serve_app
from paritycheck.samples.record import Session, play
from paritycheck.store import Store
from tests.live.livehelpers import live
from tests.live.test_live_sessions import AUTH, BASE, SEEDED, found


class Tee(httpx.AsyncBaseTransport):
    """Send a copy of each request to the mirror sink, then the request itself to production."""

    def __init__(self, mirror: str) -> None:
        self.mirror = mirror
        self.production = httpx.AsyncHTTPTransport()
        self.copies = httpx.AsyncClient(timeout=10.0)
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        copy = await self.copies.request(
            request.method, self.mirror + request.url.raw_path.decode(), headers=headers, content=body
        )
        assert (copy.status_code, copy.content) == (200, b"")
        self.sent += 1
        return await self.production.handle_async_request(request)

    async def aclose(self) -> None:
        await self.copies.aclose()
        await self.production.aclose()


async def mirrored(settings: dict[str, Any], db: Path) -> tuple[LiveServer, int]:
    """The demo's whole front-end session against production, mirrored; the window's run id."""
    settings = {"noise": {"samples": 0}, **settings}
    production, production_url = await serve_app(legacy_sample.make_app(strict_auth=True), "127.0.0.1", 0)
    try:
        async with samples.running(summary_delay=0, strict_auth=True) as s:
            backends = {"legacy": s.legacy_url, "candidate": s.candidate_url}
            config = parse({**settings, "backends": backends}, source="test")
            async with live(config, db, mode="mirror", window_seconds=0) as server:
                tee = Tee(f"http://127.0.0.1:{server.port}")
                async with httpx.AsyncClient(base_url=production_url, transport=tee, timeout=30.0) as client:
                    netloc = urlsplit(production_url).netloc
                    await play(Session(client, real_netloc=netloc, recorded_netloc=netloc))
                for _ in range(200):
                    if server.metrics.totals.seen == tee.sent:
                        break
                    await asyncio.sleep(0.05)
                run_id = await server.stop()
    finally:
        await production.cleanup()
    assert run_id is not None
    t = server.metrics.totals
    assert t.seen == tee.sent == t.shadowed + t.skipped + t.dropped and t.dropped == 0
    return server, run_id


async def test_mirror_without_sessions_the_candidate_rejects_the_clients_tokens(tmp_path: Path) -> None:
    _, run_id = await mirrored({**BASE, "sessions": {"key": "none"}}, tmp_path / "s.db")
    differences, _ = found(tmp_path / "s.db", run_id)
    assert len(differences - SEEDED) > 5
    with Store.open(tmp_path / "s.db", create=False) as store:
        rejected = [e for e in store.exchanges(run_id) if e.candidate and e.candidate.status == 401]
    assert len(rejected) > 20


async def test_mirror_gives_both_backends_their_own_login_ids_and_slugs(tmp_path: Path) -> None:
    server, run_id = await mirrored({**BASE, "auth": AUTH}, tmp_path / "s.db")
    differences, outcomes = found(tmp_path / "s.db", run_id)
    assert differences == SEEDED, differences - SEEDED
    assert outcomes.get("failed", 0) == 0 and outcomes.get("skipped", 0) == 0
    status = server.status()["sessions"]
    assert status["logins"] == {"legacy": 1, "candidate": 1}
    assert status["correlations"]["applied"].get("id", 0) > 0  # the candidate's own project id
    assert status["correlations"]["applied"].get("slug", 0) > 0
