"""WebSocket passthrough for the inline proxy: the client's WebSocket relayed to the legacy, both ways.

aiohttp ends the WebSocket on each side (client to proxy, proxy to legacy) and the relay copies every
message as it arrives: text, binary, ping and pong (neither side answers pings itself, so each peer's
own pings and pongs reach the other), and close frames with their code and reason. The legacy chooses
the subprotocol; a handshake it refuses reaches the client with its status. WebSockets are not shadowed
(stream comparison through the proxy is not built): each is counted as skipped, with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from time import perf_counter

import aiohttp
from aiohttp import WSMsgType, web

from paritycheck.live.handoff import ShadowTarget
from paritycheck.models import Exchange, Reply

__all__ = ["SKIP_WEBSOCKET", "WebSocketRelay", "is_websocket"]

SKIP_WEBSOCKET = "WebSocket: relayed to the legacy, not compared"
#: Made by each WebSocket end itself, never forwarded (RFC 6455 section 4).
_HANDSHAKE = frozenset(
    {
        "host",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    }
)
#: Headers of a refused handshake that describe the legacy's body or connection, not the refusal.
_REFUSAL_OWN = frozenset(
    {"content-length", "content-type", "content-encoding", "transfer-encoding", "connection", "keep-alive"}
    | {"upgrade", "date", "server"}
)
_AnyWebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def is_websocket(request: web.Request) -> bool:
    """An ``Upgrade: websocket`` request (RFC 6455 section 4.1)."""
    if "upgrade" not in request.headers:  # nearly every request: one lookup on the client path
        return False
    connection = {t.strip().lower() for t in request.headers.get("connection", "").split(",")}
    return request.headers.get("upgrade", "").lower() == "websocket" and "upgrade" in connection


class WebSocketRelay:
    """Relays upgraded connections to the legacy; closes the open ones (1001) when the proxy stops."""

    def __init__(self, legacy: str, shadow: ShadowTarget, *, timeout: float) -> None:
        self.legacy = legacy
        self.shadow = shadow
        self.timeout = timeout
        self.open: set[tuple[web.WebSocketResponse, aiohttp.ClientWebSocketResponse]] = set()

    async def handle(
        self,
        request: web.Request,
        session: aiohttp.ClientSession,
        exchange: Exchange,
        headers: list[tuple[str, str]],
    ) -> web.StreamResponse:
        """Connect to the legacy with the client's headers, answer the client the same way, relay."""
        sent = [(k, v) for k, v in headers if k.lower() not in _HANDSHAKE]
        offered = [
            p.strip()
            for value in request.headers.getall("sec-websocket-protocol", [])
            for p in value.split(",")
            if p.strip()
        ]
        started = perf_counter()
        try:
            upstream = await session.ws_connect(
                self.legacy + request.raw_path,
                headers=sent,
                protocols=offered,
                autoclose=False,
                autoping=False,
                max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self.timeout),
            )
        except aiohttp.WSServerHandshakeError as exc:  # the legacy said no: the client hears the same
            self.shadow.offer(dataclasses.replace(exchange, skip=SKIP_WEBSOCKET))
            refused = web.Response(status=exc.status, text=f"{exc.status} {exc.message}\n")
            for name, value in (exc.headers or {}).items():  # WWW-Authenticate, Set-Cookie, ...
                if name.lower() not in _REFUSAL_OWN:
                    refused.headers.add(name, value)
            return refused
        except Exception as exc:
            elapsed = (perf_counter() - started) * 1000
            self.shadow.failed(exchange, Reply(status=0, elapsed_ms=elapsed, error=f"{type(exc).__name__}"))
            return web.Response(status=502, text="502 Bad Gateway: legacy backend unavailable\n")
        self.shadow.offer(dataclasses.replace(exchange, skip=SKIP_WEBSOCKET))
        client = web.WebSocketResponse(
            protocols=(upstream.protocol,) if upstream.protocol else (),
            autoclose=False,
            autoping=False,
            max_msg_size=0,
        )
        pair = (client, upstream)
        try:
            await client.prepare(request)
            self.open.add(pair)
            await _both_ways(client, upstream)
        finally:
            self.open.discard(pair)
            await upstream.close()
            await client.close()
        return client

    async def close_all(self) -> None:
        """The proxy is stopping: close each open WebSocket on both sides with 1001 (going away)."""
        for client, upstream in list(self.open):
            for ws in (client, upstream):
                with contextlib.suppress(Exception):
                    await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"proxy shutting down")


async def _both_ways(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Pump each side into the other until one closes; then the other direction finishes its close."""
    tasks = [asyncio.ensure_future(_pump(client, upstream)), asyncio.ensure_future(_pump(upstream, client))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # The side that closed first has sent its close on; the peer's answering close comes back
        # through the other pump, which ends on it (bounded: a silent peer is cut after the timeout).
        await asyncio.wait(tasks, timeout=10.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _pump(source: _AnyWebSocket, target: _AnyWebSocket) -> None:
    while True:
        msg = await source.receive()
        if msg.type == WSMsgType.TEXT:
            await target.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await target.send_bytes(msg.data)
        elif msg.type == WSMsgType.PING:
            await target.ping(msg.data)
        elif msg.type == WSMsgType.PONG:
            await target.pong(msg.data)
        elif msg.type == WSMsgType.CLOSE:
            # Pass the close on, then answer the side that closed with the other side's answering code.
            await target.close(code=msg.data, message=(msg.extra or "").encode())
            await source.close(code=target.close_code or msg.data, message=(msg.extra or "").encode())
            return
        elif msg.type == WSMsgType.CLOSING:  # the other pump is closing this side: it finishes the close
            return
        else:  # CLOSED, ERROR: the connection is gone without a close frame to pass on
            error = msg.type == WSMsgType.ERROR
            await target.close(code=1011 if error else aiohttp.WSCloseCode.GOING_AWAY)
            return
