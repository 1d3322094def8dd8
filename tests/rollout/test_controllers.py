"""The payloads Flagger and Argo Rollouts send, posted to a real listener's admin port, and the answers
they read (status code for Flagger's webhooks, JSON for Argo's ``web`` metric)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from paritycheck import config as cfg
from paritycheck.rollout import ADVANCE, HOLD, ROLLBACK, flagger_answer
from paritycheck.store import Store
from tests.live.livehelpers import backend, live
from tests.rollout.rollouthelpers import SEED, later, plan, window

#: Flagger's documented payload (docs/gitbook/usage/webhooks.md), and the fields later versions add.
DOCUMENTED = {
    "name": "podinfo",
    "namespace": "test",
    "phase": "Progressing",
    "metadata": {"test": "all", "token": "16688eb5e9f289f1991c"},
}
CURRENT = {**DOCUMENTED, "checksum": "85d557f47b", "phase": "Waiting"}


async def _ok(request: Any) -> Any:
    from aiohttp import web

    return web.json_response({})


@asynccontextmanager
async def admin(tmp_path: Path, text: str = SEED) -> AsyncIterator[tuple[str, Path]]:
    config = plan(tmp_path, text)
    async with backend(_ok) as legacy, backend(_ok) as candidate:
        config = dataclasses.replace(
            config, backends=cfg.Backends(cfg.Backend(legacy), cfg.Backend(candidate))
        )
        db = tmp_path / "r.db"
        async with live(config, db, mode="mirror", admin="127.0.0.1:0", shadow_in_child=False) as server:
            yield f"http://127.0.0.1:{server.admin_port}", db


async def test_flagger_webhooks_answer_by_status_code(tmp_path: Path) -> None:
    async with admin(tmp_path) as (url, db), httpx.AsyncClient() as client:
        for hook in ("confirm-traffic-increase", "confirm-promotion", "rollback"):
            r = await client.post(f"{url}/flagger/{hook}", json=DOCUMENTED)
            assert (r.status_code, r.json()["headline"]) == (409, "no rollout step has begun"), hook
        r = await client.post(f"{url}/flagger/confirm-rollout", json=DOCUMENTED)
        assert (r.status_code, r.json()["decision"]) == (200, ADVANCE)
        r = await client.post(f"{url}/flagger/confirm-rollout", json=CURRENT)
        assert r.status_code == 200
        r = await client.post(f"{url}/flagger/confirm-rollout", json=CURRENT)  # a retry: same revision
        assert r.status_code == 200
        with Store.open(db, create=False) as store:
            steps = store.rollout_steps()
        assert [(s.step, s.source.get("checksum")) for s in steps] == [(1, None), (1, "85d557f47b")]
        assert steps[-1].source == {
            "by": "flagger",
            "hook": "confirm-rollout",
            "name": "podinfo",
            "namespace": "test",
            "checksum": "85d557f47b",
            "phase": "Waiting",
        }
        r = await client.post(f"{url}/flagger/confirm-traffic-increase", json=CURRENT)
        body = r.json()
        assert (r.status_code, body["decision"]) == (409, HOLD)
        assert body["headline"].startswith("HOLD at step 1 (10%): time: 23h59m")
        r = await client.post(f"{url}/flagger/rollback", json=CURRENT)
        assert r.status_code == 409


async def test_a_bad_payload_is_refused(tmp_path: Path) -> None:
    refused = [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"namespace": "test"}', "no 'name' string"),
        (b'{"name": "podinfo", "namespace": "test", "metadata": "x"}', "metadata is not an object"),
    ]
    async with admin(tmp_path) as (url, db), httpx.AsyncClient() as client:
        for body, needle in refused:
            r = await client.post(f"{url}/flagger/confirm-rollout", content=body)
            assert r.status_code == 400 and needle in r.json()["error"], body
        r = await client.post(f"{url}/flagger/pre-rollout", json=DOCUMENTED)
        assert r.status_code == 404 and "confirm-promotion" in r.json()["hooks"]
        with Store.open(db, create=False) as store:
            assert store.rollout_steps() == []  # nothing refused began a step


async def test_argo_web_metric_reads_the_verdict(tmp_path: Path) -> None:
    async with admin(tmp_path) as (url, db), httpx.AsyncClient() as client:
        before = (await client.get(f"{url}/rollout/verdict", headers={"Authorization": "Bearer x"})).json()
        assert before["decision"] == HOLD and before["missing"][0]["what"] == "step"
        assert (await client.get(f"{url}/rollout/verdict?step=0")).status_code == 400
        assert (await client.get(f"{url}/rollout/verdict?step=two")).status_code == 400
        now = (await client.get(f"{url}/rollout/verdict?step=2")).json()
        assert now["step"]["number"] == 2 and now["decision"] == HOLD
        with Store.open(db, create=False) as store:
            assert [(s.step, s.source) for s in store.rollout_steps()] == [(2, {"by": "argo"})]
        again = (await client.get(f"{url}/rollout/verdict?step=2")).json()  # the step goes on
        assert again["step"]["started"] == now["step"]["started"]


async def test_no_plan_is_unavailable_not_a_guess(tmp_path: Path) -> None:
    async with admin(tmp_path, "") as (url, _), httpx.AsyncClient() as client:
        r = await client.post(f"{url}/flagger/confirm-rollout", json=DOCUMENTED)
        assert r.status_code == 503 and "no [[rollout.step]]" in r.json()["headline"]
        r = await client.get(f"{url}/rollout/verdict?step=1")
        assert r.status_code == 400


def test_promotion_waits_for_the_plans_last_step_and_rollback_only_on_rollback(tmp_path: Path) -> None:
    from paritycheck.rollout import judge, start_step

    config = plan(tmp_path)
    with Store.open(tmp_path / "r.db") as store:
        start_step(store, config, "2")
        window(store, 100)
        advance = judge(store, config, now=later(store, 25))
        record = store.current_step()
    assert advance.decision == ADVANCE and advance.next_step == (3, "50%", 50.0)
    promote = flagger_answer("confirm-promotion", CURRENT, advance, record=record, steps=4)
    assert promote.status == 409 and "step 3 (50%) before the last one" in promote.body["headline"]
    more = flagger_answer("confirm-traffic-increase", CURRENT, advance, record=record, steps=4)
    assert (more.status, more.start) == (200, 3)
    assert flagger_answer("rollback", CURRENT, advance, record=record, steps=4).status == 409
    back = dataclasses.replace(advance, decision=ROLLBACK)
    assert flagger_answer("rollback", CURRENT, back, record=record, steps=4).status == 200
    assert flagger_answer("confirm-traffic-increase", CURRENT, back, record=record, steps=4).status == 409
    last = dataclasses.replace(advance, next_step=(4, "100%", 100.0))
    promoted = flagger_answer("confirm-promotion", CURRENT, last, record=record, steps=4)
    assert (promoted.status, promoted.start) == (200, 4)
