"""The mirror sink, windows as runs, the admin listener and the accounting of every request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from aiohttp import web

from paritycheck.gate import summarise
from paritycheck.live import Sampler, fnv1a32
from paritycheck.live.mirror import original_host
from paritycheck.models import Request
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, live


def echo(name: str, hosts: list[str]) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        hosts.append(request.headers.get("Host", ""))
        item = request.match_info["tail"]
        price = 10 if name == "candidate" and item.endswith("7") else 1  # seeded: ids ending in 7 differ
        return web.json_response({"item": item, "price": price})

    return handle


async def test_mirror_answers_at_once_and_accounts_for_every_copy(tmp_path: Path) -> None:
    legacy_hosts: list[str] = []
    cand_hosts: list[str] = []
    async with (
        backend(echo("legacy", legacy_hosts)) as legacy,
        backend(echo("candidate", cand_hosts)) as candidate,
        live(
            config(legacy, candidate),
            tmp_path / "s.db",
            mode="mirror",
            window_exchanges=40,
            admin="127.0.0.1:0",
        ) as server,
        httpx.AsyncClient() as client,
    ):
        url = f"http://127.0.0.1:{server.port}"
        replies = await asyncio.gather(
            *(
                client.get(f"{url}/items/{i}", headers={"Host": "api.example.com-shadow:8080"})
                for i in range(100)
            )
        )
        replies.append(await client.post(f"{url}/orders", content=b"{}"))
        assert {(r.status_code, r.content) for r in replies} == {(200, b"")}
        for _ in range(100):
            if server.metrics.totals.seen == 101:
                break
            await asyncio.sleep(0.05)
        admin = f"http://127.0.0.1:{server.admin_port}"
        status = (await client.get(f"{admin}/status")).json()
        metrics = (await client.get(f"{admin}/metrics")).text
        runs = await server.stop()
    assert len(cand_hosts) == 100  # the write is not replayed
    assert len(legacy_hosts) > 100  # plus a few A/A re-asks per endpoint and window, to learn noise
    totals = status["totals"]
    assert totals["seen"] == 101 == totals["shadowed"] + totals["skipped"] + totals["dropped"]
    assert (totals["matched"], totals["mismatched"], totals["skipped"]) == (90, 10, 1)
    assert 'paritycheck_live_exchanges_total{endpoint="POST /orders",outcome="skipped"} 1.0' in metrics
    assert "paritycheck_live_latency_seconds_bucket" in metrics
    closed = server.closed
    assert runs == closed[-1]
    assert len(closed) == 3  # 40 + 40 + 21
    with Store.open(tmp_path / "s.db", create=False) as store:
        summaries = [summarise(store, run_id) for run_id in closed]
        assert [s.total for s in summaries] == [40, 40, 21]
        assert sum(s.mismatched for s in summaries) == 10
        assert {store.run(run_id).status for run_id in closed} == {"complete"}
        stored = list(store.exchanges(closed[0]))
        # Envoy's -shadow suffix is gone from the recorded Host (each backend is sent its own, as in replay).
        hosts = {dict(e.request_headers).get("host") for e in stored if e.method == "GET"}
        assert hosts == {"api.example.com:8080"}


def test_envoy_shadow_suffix_is_stripped() -> None:
    assert original_host("api.example.com-shadow") == "api.example.com"
    assert original_host("api.example.com-shadow:8080") == "api.example.com:8080"
    assert original_host("api.example.com") == "api.example.com"


def test_sample_is_consistent_per_key_and_near_the_share() -> None:
    assert fnv1a32(b"") == 0x811C9DC5
    assert fnv1a32(b"a") == 0xE40C292C  # the FNV-1a test vector
    sampler = Sampler(30, key="header:x-user")

    def req(user: str) -> Request:
        return Request("GET", "/", "/", headers=(("x-user", user),))

    users = [f"user-{i}" for i in range(2000)]
    first = [sampler.keep(req(u)) for u in users]
    assert first == [sampler.keep(req(u)) for u in users]  # one user's requests: all in or all out
    assert 0.25 < sum(first) / len(users) < 0.35
    cookie = Sampler(50, key="cookie:uid")
    a = Request("GET", "/", "/", headers=(("cookie", "x=1; uid=42"),))
    assert len({cookie.keep(a) for _ in range(10)}) == 1
    even = Sampler(25)
    assert sum(even.keep(req("")) for _ in range(100)) == 25


async def test_status_is_json_of_the_open_window(tmp_path: Path) -> None:
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", mode="mirror", admin="127.0.0.1:0") as server,
        httpx.AsyncClient() as client,
    ):
        await client.get(f"http://127.0.0.1:{server.port}/items/7")
        for _ in range(100):
            if server.metrics.totals.seen:
                break
            await asyncio.sleep(0.05)
        body = json.loads((await client.get(f"http://127.0.0.1:{server.admin_port}/status")).content)
        assert body["window"]["mismatched"] == 1
        assert body["queue"] == 0
