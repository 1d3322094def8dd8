"""A whole rollout on real local backends through mirror windows, driven by simulated controllers that
ask the listener's admin port as Flagger and Argo Rollouts do.

- an A/A candidate advances through every step (Flagger: confirm-rollout, then each interval the
  rollback hook and confirm-traffic-increase or confirm-promotion);
- a candidate that starts failing 3% of requests mid-step rolls back within one window (Argo's ``web``
  metric, ``failureCondition: result.decision == "rollback"``);
- a candidate that answers in 1 s against 30 ms holds at the p95 ratio criterion, and says so.
  On a loaded 2-core machine each side's p95 is much of it the scheduler's delay: 40 ms slower was
  within that noise, and A/A windows of 5 ms answers measured p95 ratios up to 1.47, so the answers
  take 30 ms and the ratio allowed is 2. A 300 ms candidate advanced once in ~7 runs of the gate,
  rollout and report tests together: a legacy p95 of 30 ms plus over 100 ms of delay left the
  ratio's lower bound under 2. The listener's 64 shadow workers keep a window of 1 s answers to ~2 s.

One listener serves the three candidates in turn: each is judged only on the windows of the steps it
began. The listener runs as in production, its shadow side in the helper process: on one event loop
with the backends, the loop's lag made the two sides' latencies differ by 20% in A/A runs on this
shared machine. Windows close every :data:`WINDOW` exchanges, mirrored at a steady rate rather than in
one burst, and the plan asks for exchanges, not time.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from paritycheck import config as cfg
from paritycheck.live import LiveServer
from tests.live.livehelpers import backend, live

WINDOW = 100
#: Both backends answer after this long (seconds); the slow candidate after SLOW.
DELAY, SLOW = 0.03, 1.0
#: Shadow workers of the listener: 100 answers of SLOW take ~SLOW * 100 / SHADOWS seconds.
SHADOWS = 64
MAX_P95_RATIO = 2.0
# The gate's p95 limits (500 ms and 1.10 by default, the steps' fallback) are raised: on this 2-core
# machine under a full suite a window's p95 reached 0.87 s, and latency is only step 2's subject here.
PLAN = f"""
[gate]
max_p95_ms = 5000
max_p95_ratio = {MAX_P95_RATIO}

[[rollout.step]]
share = 10
min_exchanges = 200
max_error_rate = 1.0

[[rollout.step]]
share = 25
min_exchanges = 100
max_p95_ratio = {MAX_P95_RATIO}
max_p95_ms = 2000

[[rollout.step]]
share = 50
min_exchanges = 100
max_new_findings = 0

[[rollout.step]]
share = 100
min_exchanges = 100

[rollout.rollback]
max_error_rate = 1.0
"""
#: What Flagger POSTs to a webhook (docs/gitbook/usage/webhooks.md of fluxcd/flagger).
FLAGGER = {
    "name": "podinfo",
    "namespace": "test",
    "phase": "Progressing",
    "checksum": "6f5d4c",
    "metadata": {},
}


@dataclasses.dataclass
class Candidate:
    """The candidate's behaviour, changed by the test as it goes."""

    delay: float = DELAY
    fail_every: int = 0
    seen: int = 0


def handler(candidate: Candidate | None) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        delay = DELAY if candidate is None else candidate.delay
        if candidate is not None:
            candidate.seen += 1
            if candidate.fail_every and candidate.seen % candidate.fail_every == 0:
                return web.json_response({"error": "boom"}, status=500)
        await asyncio.sleep(delay)
        return web.json_response({"item": request.match_info["tail"], "price": 1})

    return handle


@asynccontextmanager
async def rollout(
    tmp_path: Path, candidate: Candidate
) -> AsyncIterator[tuple[LiveServer, httpx.AsyncClient]]:
    (tmp_path / "paritycheck.toml").write_text(PLAN, encoding="utf-8")
    plan = cfg.load(tmp_path / "paritycheck.toml")
    async with backend(handler(None)) as legacy, backend(handler(candidate)) as cand:
        config = dataclasses.replace(
            plan, backends=cfg.Backends(legacy=cfg.Backend(url=legacy), candidate=cfg.Backend(url=cand))
        )
        listener = live(
            config,
            tmp_path / "r.db",
            mode="mirror",
            admin="127.0.0.1:0",
            window_exchanges=WINDOW,
            workers=SHADOWS,
        )
        async with listener as server, httpx.AsyncClient(timeout=30) as client:
            yield server, client


async def mirror(server: LiveServer, n: int, prefix: str = "") -> None:
    """What Envoy's or nginx's mirror sends: ``n`` GETs, answered 200 at once."""
    url = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:

        async def get(i: int) -> None:
            async with session.get(f"{url}/items/{prefix}{i}") as r:
                assert r.status == 200

        for chunk in range(0, n, 10):  # at a steady rate, as live traffic comes, not in one burst
            await asyncio.gather(*(get(chunk + i) for i in range(min(10, n - chunk))))
            await asyncio.sleep(0.02)


async def one_window(server: LiveServer, client: httpx.AsyncClient) -> None:
    """Mirror one window's worth of GETs and wait until that window is closed (a run in the store)."""
    closed = len(server.closed)
    await mirror(server, WINDOW)
    for _ in range(400):
        if len(server.closed) > closed:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"window did not close: {server.status()}")


async def flagger(server: LiveServer, client: httpx.AsyncClient, hook: str) -> httpx.Response:
    return await client.post(f"http://127.0.0.1:{server.admin_port}/flagger/{hook}", json=FLAGGER)


async def flagger_loop(
    server: LiveServer, client: httpx.AsyncClient, *, intervals: int, each: Callable[[int], Awaitable[None]]
) -> list[tuple[str, int, str]]:
    """Flagger with stepWeights [10, 25, 50] then promotion: per interval, traffic, the rollback hook,
    then the gate before the next weight. Returns (hook, status, headline) of every gate asked."""
    asked = []
    r = await flagger(server, client, "confirm-rollout")
    asked.append(("confirm-rollout", r.status_code, r.json()["headline"]))
    weights = 0
    for i in range(intervals):
        await each(i)
        await one_window(server, client)
        rb = await flagger(server, client, "rollback")
        if rb.status_code == 200:
            asked.append(("rollback", 200, rb.json()["headline"]))
            break
        hook = "confirm-promotion" if weights == 2 else "confirm-traffic-increase"
        r = await flagger(server, client, hook)
        asked.append((hook, r.status_code, r.json()["headline"]))
        if r.status_code == 200:
            weights += 1
            if hook == "confirm-promotion":
                break
    return asked


async def verdict(server: LiveServer, client: httpx.AsyncClient, step: int | None = None) -> dict[str, Any]:
    query = "" if step is None else f"?step={step}"
    r = await client.get(f"http://127.0.0.1:{server.admin_port}/rollout/verdict{query}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_whole_rollout_through_mirror_windows(tmp_path: Path) -> None:
    """One listener, three candidates in turn (each judged only on the windows of its own steps)."""
    candidate = Candidate()
    async with rollout(tmp_path, candidate) as (server, client):
        await _aa_advances_through_every_step(server, client)
        candidate.delay = SLOW
        await _slower_holds_at_the_p95_criterion(server, client)
        candidate.delay = DELAY
        await _failing_mid_step_rolls_back_within_one_window(server, client, candidate)


async def _aa_advances_through_every_step(server: LiveServer, client: httpx.AsyncClient) -> None:
    async def nothing(_: int) -> None:
        return None

    asked = await flagger_loop(server, client, intervals=8, each=nothing)
    assert [(hook, status) for hook, status, _ in asked] == [
        ("confirm-rollout", 200),
        ("confirm-traffic-increase", 409),  # step 1 needs 200 exchanges: one window is 100
        ("confirm-traffic-increase", 200),
        ("confirm-traffic-increase", 200),
        ("confirm-promotion", 200),
    ], asked
    assert asked[1][2] == "HOLD at step 1 (10%): samples: 100 more exchanges (100 of 200)"
    assert asked[-1][2] == "ADVANCE from step 3 (50%) to step 4 (100%)"
    now = await verdict(server, client)
    assert now["step"]["number"] == 4 and now["decision"] == "hold"  # no window of step 4 yet
    await one_window(server, client)
    done = await verdict(server, client)
    assert done["decision"] == "advance" and done["next"] is None, done["headline"]
    assert "the rollout is complete" in done["headline"]
    steps = [(s["step"], s["by"]) for s in _steps(server)]
    assert steps == [(1, "flagger"), (2, "flagger"), (3, "flagger"), (4, "flagger")]


async def _slower_holds_at_the_p95_criterion(server: LiveServer, client: httpx.AsyncClient) -> None:
    # Argo's analysis of step 2 (25%) asks first: that step begins again, for this candidate.
    assert (await verdict(server, client, step=2))["missing"][0]["what"] == "samples"
    held = []
    for _ in range(3):
        await one_window(server, client)
        r = await flagger(server, client, "confirm-traffic-increase")
        held.append((r.status_code, r.json()["headline"]))
    assert [status for status, _ in held] == [409, 409, 409], held
    assert all(
        h.startswith("HOLD at step 2 (25%): criterion: p95 ratio (GET /items/{id}): ") for _, h in held
    )
    now = await verdict(server, client)
    assert now["decision"] == "hold" and now["fired"] == []
    ratio = next(c for c in now["criteria"] if c["name"] == "p95 ratio")
    assert ratio["state"] == "fail" and ratio["interval"][0] > MAX_P95_RATIO
    r = await flagger(server, client, "rollback")
    assert r.status_code == 409  # slower, not failing: hold, never roll back


async def _failing_mid_step_rolls_back_within_one_window(
    server: LiveServer, client: httpx.AsyncClient, candidate: Candidate
) -> None:
    flagged = {**FLAGGER, "checksum": "a-new-revision"}
    r = await client.post(f"http://127.0.0.1:{server.admin_port}/flagger/confirm-rollout", json=flagged)
    assert r.status_code == 200 and _steps(server)[-1] == {"step": 1, **_source(flagged)}
    decisions, headlines = [], []
    for i in range(5):
        if i == 2:  # mid-step, half way into the third window
            await mirror(server, WINDOW // 2, "h")
            candidate.fail_every = 33
        await one_window(server, client)
        # Argo's web metric: successCondition result.decision != "rollback" in the background analysis.
        now = await verdict(server, client)
        decisions.append(now["decision"])
        headlines.append(now["headline"])
        if now["decision"] == "rollback":
            break
    assert decisions[:2] == ["hold", "advance"], headlines  # 200 exchanges make step 1
    # The window the failures began in, or at the latest the next one: within one window.
    assert decisions[-1] == "rollback" and len(decisions) <= 4, headlines
    fired = now["fired"][0]
    assert fired["trigger"] == "max_error_rate" and fired["where"].startswith("run ")
    assert 2.5 <= fired["measured"] <= 4.0 and fired["bound"] > 1.0
    r = await flagger(server, client, "rollback")
    assert r.status_code == 200  # and Flagger's rollback hook agrees


def _steps(server: LiveServer) -> list[dict[str, Any]]:
    from paritycheck.store import Store

    with Store.open(server.options.db, create=False) as store:
        return [{"step": s.step, **s.source} for s in store.rollout_steps()]


def _source(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "by": "flagger",
        "hook": "confirm-rollout",
        **{k: payload[k] for k in ("name", "namespace", "checksum", "phase")},
    }
