"""Streams through the inline proxy: WebSockets relayed frame by frame, SSE unbuffered; neither shadowed.

Real aiohttp WebSocket clients talk through the real proxy to a real WebSocket backend on loopback: text,
binary, pings and pongs from either side, close codes both ways, the subprotocol, a refused handshake,
and the proxy's own shutdown. Each WebSocket is counted as skipped, so the totals reconcile.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from paritycheck.live.proxy import SKIP_SSE
from paritycheck.live.websocket import SKIP_WEBSOCKET
from paritycheck.samples import running
from tests.live.livehelpers import backend, config, live


def websocket_backend(seen: list[object]) -> web.Application:
    """A WebSocket backend that answers each message, pings on request and records what it got."""

    async def socket(request: web.Request) -> web.StreamResponse:
        seen.append(("auth", request.headers.get("Authorization"), request.headers.get("Cookie")))
        ws = web.WebSocketResponse(protocols=("chat.v1",), autoping=False, autoclose=False)
        await ws.prepare(request)
        while True:  # not ``async for``: it stops before a close frame, which this backend answers
            msg = await ws.receive()
            if msg.type == WSMsgType.TEXT:
                seen.append(("text", msg.data))
                if msg.data == "ping me":
                    await ws.ping(b"from-server")
                elif msg.data == "close me":
                    await ws.close(code=4002, message=b"server says bye")
                else:
                    await ws.send_str(f"echo:{msg.data}")
            elif msg.type == WSMsgType.BINARY:
                seen.append(("binary", msg.data))
                await ws.send_bytes(msg.data[::-1])
            elif msg.type == WSMsgType.PING:
                seen.append(("ping", msg.data))
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                seen.append(("pong", msg.data))
                await ws.send_str(f"pong seen:{msg.data.decode()}")
            elif msg.type == WSMsgType.CLOSE:  # answered with a code of its own: the client must get it
                seen.append(("close", msg.data, msg.extra))
                await ws.close(code=4003, message=b"ack")
                break
            else:
                break
        seen.append(("closed", ws.close_code))
        return ws

    async def refused(request: web.Request) -> web.StreamResponse:
        return web.Response(status=403, text="no sockets for you", headers={"WWW-Authenticate": "Bearer"})

    app = web.Application()
    app.router.add_get("/ws", socket)
    app.router.add_get("/refused", refused)
    return app


def never_asked(calls: list[str]) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        calls.append(request.path)
        return web.Response(status=500)

    return handle


async def test_websocket_frames_pass_both_ways_and_are_counted_as_skipped(tmp_path: Path) -> None:
    seen: list[object] = []
    candidate_calls: list[str] = []
    async with (
        backend(app=websocket_backend(seen)) as legacy,
        backend(never_asked(candidate_calls)) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
        aiohttp.ClientSession() as client,
    ):
        url = f"http://127.0.0.1:{server.port}/ws?room=1"
        headers = {"Authorization": "Bearer abc", "Cookie": "sid=42"}
        offered = ("chat.v2", "chat.v1")
        async with client.ws_connect(url, protocols=offered, headers=headers, autoping=False) as ws:
            assert ws.protocol == "chat.v1"  # the legacy's choice reaches the client
            await ws.send_str("hello")
            assert (await ws.receive()).data == "echo:hello"
            await ws.send_bytes(b"\x00\x01\xff")
            msg = await ws.receive()
            assert (msg.type, msg.data) == (WSMsgType.BINARY, b"\xff\x01\x00")
            await ws.ping(b"from-client")
            msg = await ws.receive()  # the legacy's own pong, not one the proxy made up
            assert (msg.type, msg.data) == (WSMsgType.PONG, b"from-client")
            await ws.send_str("ping me")
            msg = await ws.receive()
            assert (msg.type, msg.data) == (WSMsgType.PING, b"from-server")
            await ws.pong(msg.data)
            assert (await ws.receive()).data == "pong seen:from-server"
            await ws.close(code=4001, message=b"client says bye")
            assert ws.close_code == 4003  # the legacy's answering close
        for _ in range(100):
            if seen[-1:] and seen[-1][0] == "closed":  # type: ignore[index]
                break
            await asyncio.sleep(0.02)
        assert seen[0] == ("auth", "Bearer abc", "sid=42")
        assert seen[1:] == [
            ("text", "hello"),
            ("binary", b"\x00\x01\xff"),
            ("ping", b"from-client"),
            ("text", "ping me"),
            ("pong", b"from-server"),
            ("close", 4001, "client says bye"),
            ("closed", 4001),
        ]
        # The legacy closes: its code and reason reach the client.
        async with client.ws_connect(url, autoping=False) as ws:
            await ws.send_str("close me")
            msg = await ws.receive()
            assert (msg.type, msg.data, msg.extra) == (WSMsgType.CLOSE, 4002, "server says bye")
        # A handshake the legacy refuses reaches the client with the legacy's status.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"http://127.0.0.1:{server.port}/refused")
        assert refused.value.status == 403
        assert refused.value.headers is not None and refused.value.headers["WWW-Authenticate"] == "Bearer"
        await server.stop()
    totals = server.metrics.totals
    assert (totals.seen, totals.skipped, totals.shadowed) == (3, 3, 0)
    assert totals.reasons == {SKIP_WEBSOCKET: 3}
    assert candidate_calls == []


async def test_open_websockets_are_closed_going_away_when_the_proxy_stops(tmp_path: Path) -> None:
    async with (
        backend(app=websocket_backend([])) as legacy,
        backend(never_asked([])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
        aiohttp.ClientSession() as client,
        client.ws_connect(f"http://127.0.0.1:{server.port}/ws") as ws,
    ):
        await ws.send_str("hello")
        assert (await ws.receive()).data == "echo:hello"
        stopping = asyncio.ensure_future(server.stop(drain=1.0))
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert (msg.type, msg.data) == (WSMsgType.CLOSE, aiohttp.WSCloseCode.GOING_AWAY)
        await asyncio.wait_for(stopping, 20)
    assert server.metrics.totals.reasons == {SKIP_WEBSOCKET: 1}


async def test_demo_signalr_hub_through_the_proxy(tmp_path: Path) -> None:
    """The demo's SignalR hub (samples/live.py): negotiate, handshake and a streamed reply, relayed."""
    async with (
        running(summary_delay=0) as samples,
        live(config(samples.legacy_url, samples.candidate_url), tmp_path / "s.db") as server,
        aiohttp.ClientSession() as client,
    ):
        base = f"http://127.0.0.1:{server.port}"
        async with client.post(f"{base}/hubs/chat/negotiate?negotiateVersion=1") as r:
            token = (await r.json())["connectionToken"]
        async with client.ws_connect(f"{base}/hubs/chat?id={token}") as ws:
            await ws.send_str('{"protocol":"json","version":1}\x1e')
            assert (await ws.receive()).data == "{}\x1e"
            call = '{"type":1,"invocationId":"1","target":"SendMessage","arguments":["hello there"]}\x1e'
            await ws.send_str(call)
            frames = ""
            while '"type":3' not in frames.replace(" ", ""):
                frames += (await asyncio.wait_for(ws.receive(), 10)).data
            assert "ReceiveMessage" in frames and "hello there" in frames
        await server.stop()
    totals = server.metrics.totals
    assert totals.seen == totals.skipped == 2  # the negotiate POST (a write) and the WebSocket
    assert totals.reasons[SKIP_WEBSOCKET] == 1


async def test_sse_passes_through_unbuffered_and_is_not_shadowed(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def feed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        await resp.write(b"id: 1\nevent: tick\ndata: one\n\n")
        # The next event is only sent once the client has the first one: a buffering proxy deadlocks.
        await asyncio.wait_for(release.wait(), 10)
        await resp.write(b"id: 2\nevent: tick\ndata: two\n\n")
        await resp.write_eof()
        return resp

    candidate_calls: list[str] = []
    async with (
        backend(feed) as legacy,
        backend(never_asked(candidate_calls)) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{server.port}/feed", headers={"Accept": "text/event-stream"}) as r,
    ):
        assert r.headers["Content-Type"] == "text/event-stream"
        first = await asyncio.wait_for(r.content.readuntil(b"\n\n"), 5)
        assert first == b"id: 1\nevent: tick\ndata: one\n\n"
        release.set()
        assert await asyncio.wait_for(r.content.read(), 5) == b"id: 2\nevent: tick\ndata: two\n\n"
        await server.stop()
    assert server.metrics.totals.reasons == {SKIP_SSE: 1}
    assert candidate_calls == []
