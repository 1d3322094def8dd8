"""The replay engine and the scheduler: concurrency, rate, sessions, errors and cancellation."""

# Fixtures are imported from tests.servers, so test arguments shadow the imported names by design.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from typing import TypeVar

import pytest
from aiohttp import web

from paritycheck.common import aio
from paritycheck.config import Backend
from paritycheck.errors import BackendError, ConfigError
from paritycheck.models import Request
from paritycheck.replay import Engine, Transport, make_transport, schedule
from tests.servers import JsonServer, hang_url, json_serve, json_server, refused_url  # noqa: F401 - fixtures

T = TypeVar("T")


def get(path: str) -> Request:
    return Request("GET", f"https://captured.example{path}", path, "", (("authorization", "captured"),))


@pytest.fixture(params=["http1", "aiohttp"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    t = make_transport(request.param, concurrency=8)
    yield t
    await t.aclose()


@pytest.fixture
def backends() -> Iterator[tuple[JsonServer, JsonServer]]:
    with json_serve() as legacy, json_serve() as candidate:
        yield legacy, candidate


def engine_for(legacy: JsonServer, candidate: JsonServer, transport: Transport, **kw: str) -> Engine:
    return Engine(
        legacy=Backend(url=legacy.url, headers={"Authorization": "legacy-token"}),
        candidate=Backend(url=candidate.url + "/v2", headers={"Authorization": "candidate-token"}),
        transport=transport,
        timeout=5,
        **kw,
    )


def assert_no_other_tasks() -> None:
    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- Engine ---------------------------------------------------------------------------------------


async def test_pair_sends_to_both_with_their_headers(
    backends: tuple[JsonServer, JsonServer], transport: Transport
) -> None:
    legacy_srv, candidate_srv = backends
    legacy, candidate = await engine_for(legacy_srv, candidate_srv, transport).pair(get("/users/1"))
    assert json.loads(legacy.body)["headers"]["authorization"] == ["legacy-token"]
    assert json.loads(candidate.body)["headers"]["authorization"] == ["candidate-token"]
    assert (legacy_srv.paths, candidate_srv.paths) == (["/users/1"], ["/v2/users/1"])


async def test_pair_sends_both_requests_concurrently(transport: Transport) -> None:
    # Each backend answers only once both requests have arrived: a sequential pair would time out.
    both = threading.Barrier(2, timeout=5)

    async def wait_for_the_other(request: web.Request) -> web.StreamResponse:
        await asyncio.get_running_loop().run_in_executor(None, both.wait)
        return web.json_response({})

    routes = {"/x": wait_for_the_other}
    with json_serve(routes) as legacy_srv, json_serve(routes) as candidate_srv:
        engine = Engine(
            legacy=Backend(url=legacy_srv.url),
            candidate=Backend(url=candidate_srv.url),
            transport=transport,
            timeout=3,
        )
        legacy, candidate = await engine.pair(get("/x"))
    assert (legacy.status, candidate.status) == (200, 200)


async def test_ask_each_side(backends: tuple[JsonServer, JsonServer], transport: Transport) -> None:
    legacy_srv, candidate_srv = backends
    with json_serve() as secondary:
        engine = engine_for(legacy_srv, candidate_srv, transport, legacy_secondary=secondary.url)
        again = await engine.ask("legacy_secondary", get("/a"))
        await engine.ask("candidate", get("/b"))
    assert json.loads(again.body)["headers"]["authorization"] == ["legacy-token"]
    assert (secondary.paths, candidate_srv.paths, legacy_srv.paths) == (["/a"], ["/v2/b"], [])


async def test_ask_unknown_or_unconfigured_side(
    backends: tuple[JsonServer, JsonServer], transport: Transport
) -> None:
    engine = engine_for(*backends, transport)
    with pytest.raises(ConfigError, match="no secondary legacy backend"):
        await engine.ask("legacy_secondary", get("/a"))
    with pytest.raises(ValueError, match="unknown side 'prod'"):
        await engine.ask("prod", get("/a"))


def test_engine_rejects_a_bad_base_url(transport: Transport) -> None:
    with pytest.raises(BackendError, match="not an http"):
        Engine(
            legacy=Backend(url="localhost:8000"),
            candidate=Backend(url="http://h"),
            transport=transport,
            timeout=1,
        )


async def test_pair_failure_on_one_side_is_a_reply(
    json_server: JsonServer, refused_url: str, transport: Transport
) -> None:
    engine = Engine(
        legacy=Backend(url=json_server.url),
        candidate=Backend(url=refused_url),
        transport=transport,
        timeout=2,
    )
    legacy, candidate = await engine.pair(get("/a"))
    assert (legacy.status, candidate.error) == (200, "connection refused")


async def test_concurrency_per_backend_is_honoured(transport: Transport) -> None:
    with json_serve(delay=0.01) as legacy_srv, json_serve(delay=0.01) as candidate_srv:
        engine = Engine(
            legacy=Backend(url=legacy_srv.url),
            candidate=Backend(url=candidate_srv.url),
            transport=transport,
            timeout=5,
        )
        requests = (get(f"/items/{i}") for i in range(60))
        replies = [r async for r in schedule(requests, engine.pair, concurrency=4)]
    assert len(replies) == 60
    assert all(legacy.status == candidate.status == 200 for legacy, candidate in replies)
    assert 2 <= legacy_srv.max_in_flight <= 4
    assert 2 <= candidate_srv.max_in_flight <= 4


async def test_sessions_reach_the_server_in_order(transport: Transport) -> None:
    async def jittery(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(random.uniform(0, 0.01))
        return web.json_response({"path": request.path})

    routes = {f"/{s}/{n}": jittery for s in "abc" for n in range(8)}
    with json_serve(routes) as legacy_srv, json_serve(routes) as candidate_srv:
        engine = Engine(
            legacy=Backend(url=legacy_srv.url),
            candidate=Backend(url=candidate_srv.url),
            transport=transport,
            timeout=5,
        )
        requests = [get(f"/{s}/{n}") for n in range(8) for s in "abc"]
        async for _ in schedule(
            requests, engine.pair, concurrency=6, session_of=lambda r: r.path.split("/")[1]
        ):
            pass
    for server in (legacy_srv, candidate_srv):
        for s in "abc":
            assert [p for p in server.paths if p.startswith(f"/{s}/")] == [f"/{s}/{n}" for n in range(8)]


async def test_cancelling_a_run_against_a_hanging_backend(hang_url: str, transport: Transport) -> None:
    engine = Engine(
        legacy=Backend(url=hang_url), candidate=Backend(url=hang_url), transport=transport, timeout=30
    )

    async def consume() -> None:
        async for _ in schedule((get(f"/{i}") for i in range(100)), engine.pair, concurrency=4):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_no_other_tasks()


# --- schedule -------------------------------------------------------------------------------------


class Probe:
    """Work that records starts, ends and the number in flight."""

    def __init__(self, delay: float = 0.001) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.events: list[tuple[str, object]] = []
        self.starts: list[float] = []
        self.cancelled = 0

    async def __call__(self, item: T) -> T:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.events.append(("start", item))
        self.starts.append(asyncio.get_running_loop().time())
        try:
            await asyncio.sleep(self.delay * random.random())
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        self.events.append(("end", item))
        return item


async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@pytest.mark.parametrize("source", ["list", "generator", "async"])
async def test_every_item_is_done_once(source: str) -> None:
    sources: dict[str, Iterable[int] | AsyncIterable[int]] = {
        "list": list(range(50)),
        "generator": iter(range(50)),
        "async": agen(50),
    }
    items = sources[source]
    probe = Probe()
    results = [r async for r in schedule(items, probe, concurrency=5)]
    assert sorted(results) == list(range(50))
    assert 2 <= probe.max_in_flight <= 5


async def test_concurrency_one_is_sequential() -> None:
    probe = Probe()
    results = [r async for r in schedule(range(20), probe, concurrency=1)]
    assert results == list(range(20))
    assert probe.max_in_flight == 1


async def test_input_is_read_lazily() -> None:
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        while True:
            pulled += 1
            yield pulled

    results = []
    async with aclosing(schedule(endless(), Probe(), concurrency=4)) as stream:
        async for result in stream:
            results.append(result)
            if len(results) == 10:
                break
    assert pulled <= 10 + 4
    assert_no_other_tasks()


async def test_rate_spreads_starts_evenly() -> None:
    probe = Probe(delay=0)
    rate = 100.0
    [r async for r in schedule(range(25), probe, concurrency=10, rate=rate)]
    starts = probe.starts
    # Generous bounds: in any 50 ms window at most rate * 0.05 starts, plus the one saved-up token.
    for t in starts:
        assert sum(t <= s < t + 0.05 for s in starts) <= rate * 0.05 + 2
    assert starts[-1] - starts[0] >= (len(starts) - 2) / rate * 0.9


async def test_rate_with_sessions_and_a_slow_consumer() -> None:
    probe = Probe(delay=0)
    items = [(i % 3, i) for i in range(12)]
    results = []
    async for r in schedule(items, probe, concurrency=4, rate=200, session_of=lambda item: item[0]):
        results.append(r)
        await asyncio.sleep(0.001)
    assert sorted(results) == sorted(items)


async def test_sessions_run_in_order_and_others_run_beside_them() -> None:
    probe = Probe(delay=0.005)
    items: list[tuple[str | None, int]] = [(random.choice(["a", "b", None, None]), i) for i in range(80)]
    results = [r async for r in schedule(items, probe, concurrency=6, session_of=lambda item: item[0])]
    assert len(results) == 80
    for key in ("a", "b"):
        mine = [e for e in probe.events if e[1][0] == key]  # type: ignore[index]
        # Strictly one at a time, in input order: start i, end i, start i+1, end i+1, ...
        expected = [(kind, item) for item in items if item[0] == key for kind in ("start", "end")]
        assert mine == expected
    assert probe.max_in_flight > 2


async def test_one_long_session_does_not_hold_everything() -> None:
    probe = Probe(delay=0.002)
    items = [("s", i) for i in range(300)] + [(None, i) for i in range(20)]
    seen: list[tuple[str | None, int]] = []
    async with aclosing(schedule(items, probe, concurrency=4, session_of=lambda item: item[0])) as stream:
        async for item in stream:
            seen.append(item)
    assert len(seen) == 320
    assert [i for k, i in seen if k == "s"] == list(range(300))


async def test_exception_in_work_propagates_after_cancelling_the_rest() -> None:
    probe = Probe(delay=0.05)

    async def work(i: int) -> object:
        if i == 7:
            raise RuntimeError("boom on 7")
        return await probe(i)

    results = []
    with pytest.raises(RuntimeError, match="boom on 7"):
        async for r in schedule(range(1000), work, concurrency=8):
            results.append(r)
    assert probe.in_flight == 0
    assert len(results) < 1000
    assert_no_other_tasks()


async def test_exception_raised_synchronously_by_work() -> None:
    def work(i: int) -> asyncio.Future[int]:
        raise KeyError(i)

    with pytest.raises(KeyError):
        [r async for r in schedule(range(5), work, concurrency=2)]
    assert_no_other_tasks()


async def test_cancelling_the_consumer_cancels_in_flight_work() -> None:
    probe = Probe(delay=0.05)
    got: list[object] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for r in schedule(agen(10_000), probe, concurrency=8):
            got.append(r)
            if len(got) == 3:
                three.set()

    task = asyncio.create_task(consume())
    await three.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(got) >= 3
    assert probe.in_flight == 0
    assert probe.cancelled >= 1
    assert_no_other_tasks()


async def test_breaking_out_with_aclosing_cleans_up() -> None:
    probe = Probe(delay=0.05)
    async with aclosing(schedule(range(100), probe, concurrency=8)) as stream:
        async for _ in stream:
            break
    assert probe.in_flight == 0
    assert_no_other_tasks()


@pytest.mark.parametrize(("concurrency", "rate"), [(0, 0.0), (1, -1.0)])
async def test_bad_arguments(concurrency: int, rate: float) -> None:
    with pytest.raises(ValueError):
        [r async for r in schedule(range(3), Probe(), concurrency=concurrency, rate=rate)]


def test_aio_run_uses_uvloop() -> None:
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert aio.run(loop_module()).startswith("uvloop")


def test_aio_run_returns_the_result_and_raises_errors() -> None:
    async def boom() -> None:
        raise LookupError("x")

    async def answer() -> int:
        return 42

    assert aio.run(answer()) == 42
    with pytest.raises(LookupError):
        aio.run(boom())
