"""aiohttp stream servers for the stream tests: SSE feeds and WebSocket/SignalR endpoints, with faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import WSMsgType, web

SEP = "\x1e"


def sse_app(
    events: Sequence[str],
    *,
    forever: bool = False,
    silent: bool = False,
    status: int = 200,
    tail: str = "",
) -> web.Application:
    """``GET /feed``: the raw event blocks in ``events``; then end, keep ticking, or say nothing at all."""

    async def feed(request: web.Request) -> web.StreamResponse:
        if status != 200:
            return web.json_response({"error": "unauthorized"}, status=status)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        if silent:
            await asyncio.sleep(3600)
        for block in events:
            await resp.write(block.encode())
        if tail:
            await resp.write(tail.encode())
        n = 0
        try:
            while forever:
                n += 1
                await resp.write(f'data: {{"tick": {n}}}\n\n'.encode())
                await asyncio.sleep(0.01)
        except ConnectionResetError:
            pass  # the client stopped reading: what a bounded replay does
        return resp

    app = web.Application()
    app.router.add_get("/feed", feed)
    return app


def echo_app(*, prefix: str = "", close_code: int | None = None, refuse: int = 0, abort: bool = False,
             silent: bool = False, huge: int = 0, binary: bool = False) -> web.Application:  # fmt: skip
    """``/ws``: greets, then answers each text message with ``prefix + message``; faults on request."""

    async def ws(request: web.Request) -> web.StreamResponse:
        if refuse:
            return web.json_response({"error": "no"}, status=refuse)
        sock = web.WebSocketResponse(protocols=("chat.v1",))
        await sock.prepare(request)
        if silent:
            await asyncio.sleep(3600)
        await sock.send_str(json.dumps({"hello": sock.ws_protocol or "none"}))
        if huge:
            await sock.send_str("x" * huge)
        if binary:
            await sock.send_bytes(b"\x00\x01\x02")
        async for msg in sock:
            if msg.type == WSMsgType.TEXT:
                await sock.send_str(prefix + msg.data)
                if abort:
                    assert request.transport is not None
                    request.transport.abort()
                    return sock
                if close_code is not None:
                    await sock.close(code=close_code, message=b"bye")
                    return sock
        return sock

    app = web.Application()
    app.router.add_get("/ws", ws)
    return app


def hub_app(*, reply: Sequence[str] = ("Hel", "lo ", "there"), user_key: str = "user") -> web.Application:
    """A minimal SignalR JSON hub at ``/hub`` (negotiate + WebSocket): ``Send`` streams ``reply`` chunks."""
    tokens: list[str] = []

    async def negotiate(request: web.Request) -> web.Response:
        token = f"tok-{len(tokens) + 1}-{id(tokens) % 1000}"
        tokens.append(token)
        transports = [{"transport": "WebSockets", "transferFormats": ["Text"]}]
        doc = {"negotiateVersion": 1, "connectionId": "c" + token, "connectionToken": token}
        return web.json_response({**doc, "availableTransports": transports})

    async def hub(request: web.Request) -> web.StreamResponse:
        if request.query.get("id") not in tokens:
            return web.Response(status=404, text="No Connection with that ID")
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        async for msg in sock:
            if msg.type != WSMsgType.TEXT:
                continue
            for part in filter(None, msg.data.split(SEP)):
                doc: dict[str, Any] = json.loads(part)
                if "protocol" in doc:
                    await sock.send_str("{}" + SEP + json.dumps({"type": 6}) + SEP)
                elif doc.get("type") == 1:
                    text = doc["arguments"][0]
                    said = {"type": 1, "target": "Message", "arguments": [{user_key: "ana", "text": text}]}
                    await sock.send_str(json.dumps(said) + SEP)
                    for chunk in reply:
                        await sock.send_str(
                            json.dumps({"type": 1, "target": "Chunk", "arguments": [chunk]}) + SEP
                        )
                    if "invocationId" in doc:
                        await sock.send_str(json.dumps({"type": 3, "invocationId": doc["invocationId"],
                                                        "result": None}) + SEP)  # fmt: skip
        return sock

    app = web.Application()
    app.router.add_post("/hub/negotiate", negotiate)
    app.router.add_get("/hub", hub)
    return app
