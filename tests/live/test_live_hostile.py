"""Hostile clients against ``proxy`` and ``mirror`` (issue 23): every request is answered or refused,
the listener and its shadow helper keep serving the others, and memory stays bounded.

Each hostile request goes over a raw socket, as an attacker would send it; after each one a well-formed
request must still be served. RSS of the listener (this process) and of the helper is sampled all along.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from paritycheck.live import LiveServer
from paritycheck.live.proxy import SKIP_CLIENT_STALLED, SKIP_NOT_ROUTED
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, live
from tests.rss import sampled
from tests.servers import Raw, serve

#: RSS either process may grow by over the whole test (MiB). Measured: a few MiB each (docs/security.md).
MEMORY_BOUND_MB = 64

#: Requests aiohttp's parser refuses: answered 400, counted as malformed, never an exchange.
MALFORMED = {
    "method with spaces": b"GET /ADMIN/SECRET?X= /api/v1/public HTTP/1.1\r\nHost: h\r\n\r\n",
    "method not a token": b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost: h\r\nNo Colon Here\r\n\r\n",
    "control byte in a header": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n",
    "request line too long": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
    "too many headers": b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(300)) + b"\r\n",
    "header too long": b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n",
    "length and chunked": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two lengths": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "TLS to a plain port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
    "bare garbage": b"\xff\xfe\r\n\r\n",
    "bad chunk size": b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n",
}
#: Requests that parse but cannot be served as they are: answered, and each is an exchange with its reason.
REFUSED = {
    "absolute-form with a user": (b"GET http://u@internal.example/x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    "asterisk-form": (b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    # Half a chunked body, then nothing (a bad chunk after a pause reads the same to the handler).
    "stalled body": (b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 408),
}
#: Connections opened and left idle (half of them with half a request head) while the rest goes on.
IDLE_CONNECTIONS = 200
#: Seconds a client may send nothing of its body (LiveOptions.client_timeout), short for the test.
CLIENT_TIMEOUT = 1.0


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` on a new connection; the status line of the answer (b"" if the listener closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
        await writer.wait_closed()


async def legacy_handler(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True, "path": request.path})


async def never_continue(request: web.Request) -> None:
    """An expect handler that never sends 100 Continue (many servers just wait for the body)."""


def expecting_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", legacy_handler, expect_handler=never_continue)
    return app


async def served(server: LiveServer, client: httpx.AsyncClient, mode: str) -> None:
    reply = await client.get(f"http://127.0.0.1:{server.port}/health?probe=1", timeout=5)
    assert reply.status_code == 200, reply.text
    if mode == "proxy":
        assert reply.json() == {"ok": True, "path": "/health"}


async def settled(server: LiveServer, seen: int) -> dict[str, int]:
    """The helper's totals once it has counted ``seen`` exchanges (it pushes them every 0.1 s)."""
    for _ in range(600):  # 30 s: the helper shares two cores with the suite
        totals = server.status().get("totals", {})
        if totals.get("seen", 0) >= seen:
            return totals  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the helper counted {server.status().get('totals')}, expected {seen} seen")


@pytest.mark.parametrize("mode", ["proxy", "mirror"])
async def test_hostile_requests_are_answered_or_refused_and_the_listener_keeps_serving(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with (
        backend(app=expecting_app()) as legacy,
        backend(legacy_handler) as candidate,
        live(
            config(legacy, candidate, timeout=3),
            tmp_path / "s.db",
            mode,
            admin="127.0.0.1:0",
            client_timeout=CLIENT_TIMEOUT,
        ) as server,
        httpx.AsyncClient() as client,
    ):
        assert server.helper is not None
        pids = {"listener": None, "helper": server.helper.child.process.pid}
        async with sampled(pids) as memory:
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(IDLE_CONNECTIONS)]
            for _, writer in idle[: IDLE_CONNECTIONS // 2]:  # slowloris: half a request head, then nothing
                writer.write(b"GET /slow HTTP/1.1\r\nHost: h\r\nX-Slow: ")
            good = 0
            for name, data in MALFORMED.items():
                status = await exchange(server.port, data)
                assert status == b"" or status.split()[1:2] == [b"400"], (name, status)
                await served(server, client, mode)
                good += 1
            for name, (data, code) in REFUSED.items():
                status = await exchange(server.port, data)
                assert status.split()[1:2] == [str(code).encode()], (name, status)
                await served(server, client, mode)
                good += 1
            # Expect: 100-continue before a body, to a legacy that never sends 100: answered at once.
            expect = b"POST /orders HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(expect)
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert interim.startswith(b"HTTP/1.1 100"), interim
            writer.write(b"{}")
            final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert final.split()[1:2] == [b"200"], final
            writer.close()
            await writer.wait_closed()
            await served(server, client, mode)
            total = good + 1 + 1 + len(REFUSED)
            totals = await settled(server, total)
            metrics = (await client.get(f"http://127.0.0.1:{server.admin_port}/metrics")).text
        growth = memory.growth()
        for _, writer in idle:
            writer.close()
        await server.stop()
    assert totals["seen"] == totals["shadowed"] + totals["skipped"] + totals["dropped"]
    assert totals["reasons"][SKIP_NOT_ROUTED] == 2 and totals["reasons"][SKIP_CLIENT_STALLED] == 1
    assert totals["malformed"] == len(MALFORMED)
    assert totals["failed"] == 0  # nothing the clients did counts against the legacy
    refusals = re.findall(r'paritycheck_live_malformed_requests_total\{reason="([^"]*)"\} (\S+)', metrics)
    assert sum(float(n) for _, n in refusals) == len(MALFORMED)
    assert {"bad HTTP method", "line too long"} <= {reason for reason, _ in refusals}
    # One line per refusal, never a traceback, never the bytes the client sent.
    lines = [r for r in caplog.records if r.name.startswith("paritycheck.live")]
    assert lines and all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert not any("SECRET" in r.getMessage() or "Traceback" in r.getMessage() for r in caplog.records)
    print(f"RSS growth (MiB): {growth}")
    assert growth["listener"] < MEMORY_BOUND_MB and growth["helper"] < MEMORY_BOUND_MB, growth


async def endless_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A backend answering every request with header fields without end (until the client gives up)."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(1 << 20):  # ~100 MiB of fields per request
        writer.write(b"x-pad-%d: %s\r\n" % (i, b"a" * 90))
        await writer.drain()


async def test_a_candidate_sending_headers_without_end_costs_the_helper_no_memory(tmp_path: Path) -> None:
    # Before the lean client bounded a reply's head, 4 shadowed requests took the helper to 1.9 GB.
    with serve(Raw(endless_headers)) as candidate:
        async with (
            backend(legacy_handler) as legacy,
            live(config(legacy, candidate, timeout=5), tmp_path / "s.db", admin="127.0.0.1:0") as server,
            httpx.AsyncClient() as client,
        ):
            assert server.helper is not None
            async with sampled({"helper": server.helper.child.process.pid}) as memory:
                for i in range(8):
                    reply = await client.get(f"http://127.0.0.1:{server.port}/items/{i}", timeout=5)
                    assert reply.status_code == 200  # the client path never waits for the candidate
                totals = await settled(server, 8)
            growth = memory.growth()
            await server.stop()
    assert totals["failed"] == 8, totals
    with Store.open(tmp_path / "s.db", create=False) as store:
        reasons = {o.reason for o in store.exchanges(store.latest_run_id())}
    assert reasons == {"candidate: invalid HTTP response: more than 128 header fields"}, reasons
    print(f"RSS growth (MiB): {growth}")
    assert growth["helper"] < MEMORY_BOUND_MB, growth
