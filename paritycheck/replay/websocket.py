"""Replay a WebSocket conversation: connect, send the captured client messages in order, collect, close.

Each client message is sent once the server messages that preceded it in the capture have arrived, or
after the captured delay since the previous message (at least :data:`MIN_WAIT` seconds, so a capture
timed to the millisecond does not race a slower backend) if they never do. After the last client
message, server messages are read until the captured count (unless the capture was truncated),
``max_events``, ``idle_seconds`` or ``max_seconds``. The server's close frame (code and reason) is part
of the conversation: where the capture has the server closing, it is waited for (up to
``idle_seconds``); otherwise one that comes within :data:`CLOSE_GRACE` of the last message is taken.
Then the client closes with the captured client code, else 1000.

SignalR (recognised from its handshake, docs/streams.md) is read record by record: frames are split on
the 0x1E separator, the handshake answer and pings (type 6) are dropped, and counts are in records. As
a streamed reply's chunk count is each backend's own, a SignalR conversation is read until it is
complete (every invocation the client sent has its completion, where the capture's conversation also
ended with them), else until idle (or ``max_events``/``max_seconds``), not to the captured count. A
captured ``id=`` connection token is replaced by each backend's own from its negotiate endpoint.
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

__all__ = ["CLOSE_GRACE", "MIN_WAIT", "is_signalr", "replay_websocket"]

MIN_WAIT = 0.5
#: Seconds a close frame is waited for after the conversation, where the capture has no server close.
CLOSE_GRACE = 0.25
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


def _hub_records(text: str) -> list[dict[str, Any]]:
    """Every JSON record of a SignalR frame (pings included), for following invocations."""
    out = []
    for part in text.split(SEPARATOR):
        try:
            doc = jsonparse.loads(part) if part.strip() else None
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


class _Invocations:
    """SignalR invocations the client sent that still wait for their completion (type 3)."""

    def __init__(self) -> None:
        self.pending: set[str] = set()

    def sent(self, text: str) -> None:
        for doc in _hub_records(text):
            if doc.get("type") in (1, 4) and isinstance(doc.get("invocationId"), str):
                self.pending.add(doc["invocationId"])

    def received(self, text: str) -> bool:
        """Note a server frame; True when it holds the hub's Close message (type 7)."""
        closed = False
        for doc in _hub_records(text):
            if doc.get("type") == 3:
                self.pending.discard(str(doc.get("invocationId")))
            closed |= doc.get("type") == 7
        return closed


def ends_with_completions(messages: tuple[Message, ...]) -> bool:
    """Whether a captured SignalR conversation ended when its invocations were complete: each one the
    client sent got its completion, and the server sent nothing but pings after the last of them."""
    invocations = _Invocations()
    after = False  # a record since the last completion that is not a ping
    any_sent = False
    for message in messages:
        if message.direction == "send":
            invocations.sent(message.data)
            any_sent |= bool(invocations.pending)
            continue
        for doc in _hub_records(message.data):
            if doc.get("type") == 3:
                invocations.pending.discard(str(doc.get("invocationId")))
                after = False
            elif doc.get("type") != 6 and doc != {}:
                after = True
    return any_sent and not invocations.pending and not after


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
        #: SignalR: the client's invocations still waiting; completes the conversation when the capture's did.
        self.invocations = _Invocations()
        self.complete_when_answered = False
        self.all_sent = False

    def _count(self, message: Message) -> int:
        if message.direction != "receive":
            return 0
        return len(signalr_records(message.data)) if self.signalr else 1

    async def run(
        self, messages: tuple[Message, ...], *, expect_total: int | None, server_closes: bool = False
    ) -> None:
        seen = 0  # server records that preceded the next client message in the capture
        previous = 0.0
        self.complete_when_answered = self.signalr and ends_with_completions(messages)
        for message in messages:
            if message.direction == "receive":
                seen += self._count(message)
                previous = message.time
                continue
            wait = max(message.time - previous, MIN_WAIT)
            previous = message.time
            if not await self._receive(until=seen, within=wait) or not await self._send(message):
                return
        self.all_sent = True
        if self._complete():
            return
        target = self.limits.max_events if expect_total is None else min(expect_total, self.limits.max_events)
        if await self._receive(until=target, within=None) and not self.record.end:
            self.record.end = "max_events" if target == self.limits.max_events else "captured count"
            # The server's close is part of the conversation: waited for where the capture has one.
            await self._await_close(self.limits.idle_seconds if server_closes else CLOSE_GRACE)

    def _complete(self) -> bool:
        """SignalR: every invocation answered, as the capture's conversation was when it ended."""
        if self.complete_when_answered and self.all_sent and not self.invocations.pending:
            self.record.end = "completed"
            return True
        return False

    async def _await_close(self, within: float) -> None:
        """Take a close frame that comes within ``within`` seconds; a data message ends the wait unread
        (the server talks on where the capture stopped listening)."""
        end = min(perf_counter() + min(within, self.limits.idle_seconds), self.deadline)
        while (left := end - perf_counter()) > 0:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), left)
            except TimeoutError:
                return
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return
            self._take(msg)
            return

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
        if self.signalr:
            self.invocations.sent(message.data)
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
            if self._complete():
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
                if self.invocations.received(msg.data):  # the hub's Close message
                    record.end = "closed"
                    return False
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
            captured = stream.close
            async with ws:
                await _Conversation(ws, record, limits, started).run(
                    stream.messages,
                    expect_total=expect,
                    server_closes=captured is not None and captured.by != "client",
                )
                if not ws.closed:
                    # As the captured client closed, else the normal 1000.
                    own = captured if captured is not None and captured.by == "client" else None
                    code = own.code if own is not None and own.code else 1000
                    reason = own.reason if own is not None and own.code else ""
                    await ws.close(code=code, message=reason.encode())
    except TimeoutError:
        record.error = f"no answer within {timeout:g}s"
    except Exception as exc:  # a transport never raises
        record.error = aiohttp_reason(exc, timeout)
    return record.reply((perf_counter() - started) * 1000)
