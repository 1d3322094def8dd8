"""Replay a WebSocket conversation: connect, send the captured client messages in order, collect, close.

Each client message is sent once the server messages that preceded it in the capture have arrived, or
after the captured delay since the previous message (at least :data:`MIN_WAIT` seconds, so a capture
timed to the millisecond does not race a slower backend) if they never do. After the last client
message, server messages are read until the captured count (unless the capture was truncated),
``max_events``, ``idle_seconds`` or ``max_seconds``; then the client closes with 1000.

SignalR (recognised from its handshake, docs/streams.md) is read record by record: frames are split on
the 0x1E separator, the handshake answer and pings (type 6) are dropped, and counts are in records. As
a streamed reply's chunk count is each backend's own, a SignalR conversation is read until idle (or
``max_events``/``max_seconds``), not to the captured count. A captured ``id=`` connection token is
replaced by each backend's own from its negotiate endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from paritycheck.common import jsonparse
from paritycheck.models import Message, Reply, Request
from paritycheck.replay.aiohttp_client import aiohttp_reason
from paritycheck.replay.record import Limits, Record, event_data
from paritycheck.replay.transport import join_url, outgoing_headers

__all__ = ["MIN_WAIT", "is_signalr", "replay_websocket"]

MIN_WAIT = 0.5
SEPARATOR = "\x1e"
_HANDSHAKE_HEADERS = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"}
)


def is_signalr(messages: tuple[Message, ...]) -> bool:
    """A SignalR JSON hub: the first client message is the ``{"protocol":"json",...}`` handshake."""
    first = next((m for m in messages if m.direction == "send"), None)
    if first is None or not first.data.endswith(SEPARATOR):
        return False
    try:
        doc = jsonparse.loads(first.data.split(SEPARATOR, 1)[0])
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("protocol") == "json"


def signalr_records(text: str) -> list[Any]:
    """The hub messages of one frame, pings and the handshake answer (``{}``) left out."""
    out: list[Any] = []
    for part in text.split(SEPARATOR):
        if not part.strip():
            continue
        try:
            doc = jsonparse.loads(part)
        except ValueError:
            out.append(part)  # not JSON: compared as text, never dropped
            continue
        if isinstance(doc, dict) and (doc.get("type") == 6 or doc == {}):
            continue
        out.append(doc)
    return out


class _Conversation:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, record: Record, limits: Limits, started: float):
        self.ws = ws
        self.record = record
        self.limits = limits
        self.started = started
        self.deadline = started + limits.max_seconds
        self.signalr = record.kind == "signalr"
        self.sent_at: float | None = None

    def _count(self, message: Message) -> int:
        if message.direction != "receive":
            return 0
        return len(signalr_records(message.data)) if self.signalr else 1

    async def run(self, messages: tuple[Message, ...], *, expect_total: int | None) -> None:
        seen = 0  # server records that preceded the next client message in the capture
        previous = 0.0
        for message in messages:
            if message.direction == "receive":
                seen += self._count(message)
                previous = message.time
                continue
            wait = max(message.time - previous, MIN_WAIT)
            previous = message.time
            if not await self._receive(until=seen, within=wait) or not await self._send(message):
                return
        target = self.limits.max_events if expect_total is None else min(expect_total, self.limits.max_events)
        if await self._receive(until=target, within=None) and not self.record.end:
            self.record.end = "max_events" if target == self.limits.max_events else "captured count"

    async def _send(self, message: Message) -> bool:
        """Send one client message; False when the connection is gone (an abnormal close, 1006)."""
        try:
            if message.opcode == 2:
                try:
                    data = base64.b64decode(message.data, validate=True)
                except binascii.Error:
                    data = message.data.encode()
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(message.data)
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            self.record.close = {"code": self.ws.close_code or 1006, "reason": ""}
            self.record.end = "closed"
            return False
        self.sent_at = perf_counter()
        return True

    async def _receive(self, *, until: int, within: float | None) -> bool:
        """Read until ``until`` events; False once the stream has ended (closed, idle, too long)."""
        record = self.record
        wait_until = None if within is None else perf_counter() + within
        while len(record.events) < until and len(record.events) < self.limits.max_events:
            now = perf_counter()
            if now >= self.deadline:
                record.end = "max_seconds"
                return False
            limit = min(self.deadline - now, self.limits.idle_seconds)
            if wait_until is not None:
                if now >= wait_until:
                    return True  # the captured delay passed: send anyway
                limit = min(limit, wait_until - now)
            try:
                msg = await asyncio.wait_for(self.ws.receive(), limit)
            except TimeoutError:
                if wait_until is not None and perf_counter() >= wait_until - 1e-3:
                    return True
                record.end = "max_seconds" if perf_counter() >= self.deadline else "idle"
                return False
            if not self._take(msg):
                return False
        return True

    def _take(self, msg: aiohttp.WSMessage) -> bool:
        record = self.record
        now = perf_counter()
        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            if record.first_event_ms is None:
                record.first_event_ms = (now - self.started) * 1000
            if self.sent_at is not None:
                record.round_trips_ms.append((now - self.sent_at) * 1000)
                self.sent_at = None
            if msg.type == aiohttp.WSMsgType.BINARY:
                record.events.append({"binary": True, "data": base64.b64encode(msg.data).decode()})
            elif self.signalr:
                record.events.extend({"data": doc} for doc in signalr_records(msg.data))
            else:
                record.events.append({"data": event_data(msg.data)})
            return True
        if msg.type == aiohttp.WSMsgType.ERROR:
            exc = msg.data
            if isinstance(exc, aiohttp.WebSocketError) and exc.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                record.error = f"a message larger than {self.limits.max_message_bytes} bytes"
                record.end = "too large"
                return False
        code = self.ws.close_code
        record.close = {"code": code if code is not None else 1006, "reason": str(msg.extra or "")}
        record.end = "closed"
        return False


async def _negotiate(
    session: aiohttp.ClientSession, base_url: str, request: Request, headers: list[tuple[str, str]]
) -> tuple[str, str | None]:
    """Each backend's own SignalR connection token in place of the captured ``id=``; or an error."""
    pairs = parse_qsl(request.query, keep_blank_values=True)
    if not any(k == "id" for k, _ in pairs):
        return request.target, None
    url = join_url(base_url, request.path.rstrip("/") + "/negotiate?negotiateVersion=1")
    async with session.post(url, headers=[h for h in headers if h[0] != "content-type"]) as resp:
        if resp.status != 200:
            return request.target, f"SignalR negotiate answered {resp.status}"
        doc = jsonparse.loads(await resp.read())
    token = doc.get("connectionToken") or doc.get("connectionId") if isinstance(doc, dict) else None
    if not isinstance(token, str):
        return request.target, "SignalR negotiate gave no connection token"
    query = urlencode([(k, token if k == "id" else v) for k, v in pairs])
    return f"{request.path}?{query}", None


async def replay_websocket(
    base_url: str,
    request: Request,
    *,
    headers: Mapping[str, str],
    limits: Limits,
    timeout: float,  # noqa: ASYNC109 - the connect/handshake deadline; reading has its own limits
) -> Reply:
    stream = request.stream
    assert stream is not None
    signalr = is_signalr(stream.messages)
    record = Record("signalr" if signalr else "websocket")
    started = perf_counter()
    sent = outgoing_headers(request, headers)
    protocols = [
        p.strip()
        for k, v in request.headers
        if k == "sec-websocket-protocol"
        for p in v.split(",")
        if p.strip()
    ]
    ws_headers = [(k, v) for k, v in sent if k not in _HANDSHAKE_HEADERS]
    expect: int | None = None
    # SignalR is read until idle: a streamed reply's chunk count is each backend's own.
    if not stream.truncated and stream.received and not signalr:
        expect = stream.received
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout)
        ) as session:
            target = request.target
            if signalr:
                target, problem = await asyncio.wait_for(
                    _negotiate(session, base_url, request, sent), timeout
                )
                if problem is not None:
                    record.error = problem
                    return record.reply((perf_counter() - started) * 1000)
            try:
                ws = await asyncio.wait_for(
                    session.ws_connect(
                        join_url(base_url, target),
                        protocols=protocols,
                        headers=ws_headers,
                        max_msg_size=limits.max_message_bytes,
                        autoping=True,
                        timeout=aiohttp.ClientWSTimeout(ws_close=min(timeout, 2.0)),
                    ),
                    timeout,
                )
            except aiohttp.WSServerHandshakeError as exc:
                record.status = exc.status
                record.end = "refused"
                return record.reply((perf_counter() - started) * 1000)
            record.status = 101
            record.headers = tuple((k.lower(), v) for k, v in ws._response.headers.items())
            async with ws:
                await _Conversation(ws, record, limits, started).run(stream.messages, expect_total=expect)
                if not ws.closed:
                    await ws.close()
    except TimeoutError:
        record.error = f"no answer within {timeout:g}s"
    except Exception as exc:  # a transport never raises
        record.error = aiohttp_reason(exc, timeout)
    return record.reply((perf_counter() - started) * 1000)
