"""Replaying WebSocket conversations (and SignalR hubs) against real aiohttp servers on loopback."""

from __future__ import annotations

import base64
import json
from typing import Any

from paritycheck.common.jsonparse import loads
from paritycheck.models import Message, Request, Stream
from paritycheck.replay import Limits, replay_stream
from tests.servers import serve
from tests.streams.apps import SEP, echo_app, hub_app

FAST = Limits(max_events=50, idle_seconds=0.5, max_seconds=5.0)


def _ws(
    *messages: Message, truncated: bool = False, target: str = "/ws", protocol: str = "chat.v1"
) -> Request:
    path, _, query = target.partition("?")
    headers = (("sec-websocket-protocol", protocol), ("sec-websocket-key", "abc"), ("x-tag", "t"))
    return Request("GET", "wss://x.test" + target, path, query, headers,
                   stream=Stream("websocket", messages, truncated=truncated))  # fmt: skip


def _conversation() -> Request:
    return _ws(
        Message("receive", '{"hello":"chat.v1"}', 0.0),
        Message("send", "one", 0.1),
        Message("receive", "> one", 0.15),
        Message("send", "two", 0.2),
        Message("receive", "> two", 0.25),
    )


async def _replay(url: str, request: Request, limits: Limits = FAST) -> tuple[Any, Any]:
    reply = await replay_stream(url, request, headers={}, limits=limits, timeout=2.0)
    return reply, loads(reply.body)


async def test_conversation_in_order_with_the_captured_subprotocol() -> None:
    with serve(echo_app(prefix="> ")) as url:
        reply, record = await _replay(url, _conversation())
    assert reply.status == 101 and reply.error is None
    assert [e["data"] for e in record["events"]] == [{"hello": "chat.v1"}, "> one", "> two"]
    assert record["end"] == "captured count" and len(record["round_trips_ms"]) == 2
    assert record["stream"] == "websocket"


async def test_messages_are_sent_after_the_captured_delay_when_replies_never_come() -> None:
    # The server never greets in this capture's order: the first send waits its captured delay, then goes.
    request = _ws(
        Message("receive", "never", 0.0), Message("receive", "sent", 0.0), Message("send", "x", 0.1)
    )
    with serve(echo_app(prefix="")) as url:
        reply, record = await _replay(url, request)
    assert reply.error is None and [e["data"] for e in record["events"]][-1] == "x"


async def test_server_close_code_and_reason_are_recorded() -> None:
    with serve(echo_app(prefix="> ", close_code=4001)) as url:
        _, record = await _replay(url, _conversation())
    assert record["close"] == {"code": 4001, "reason": "bye"} and record["end"] == "closed"


async def test_abnormal_close_is_1006() -> None:
    with serve(echo_app(prefix="> ", abort=True)) as url:
        reply, record = await _replay(url, _conversation())
    assert reply.error is None and record["close"]["code"] == 1006


async def test_refused_upgrade_records_the_status() -> None:
    with serve(echo_app(refuse=401)) as url:
        reply, record = await _replay(url, _conversation())
    assert reply.status == 401 and record["end"] == "refused" and record["events"] == []


async def test_accepted_then_silent_ends_by_idle() -> None:
    with serve(echo_app(silent=True)) as url:
        reply, record = await _replay(url, _conversation(), Limits(idle_seconds=0.3, max_seconds=3))
    assert reply.error is None and record["events"] == [] and record["end"] == "idle"


async def test_a_huge_message_fails_with_a_reason() -> None:
    with serve(echo_app(huge=200_000)) as url:
        reply, record = await _replay(url, _conversation(), Limits(idle_seconds=1, max_message_bytes=100_000))
    assert reply.error == "a message larger than 100000 bytes" and record["end"] == "too large"


async def test_binary_frames_are_recorded_as_base64_and_sent_from_base64() -> None:
    request = _ws(Message("send", base64.b64encode(b"\x07").decode(), 0.0, opcode=2), truncated=True)
    with serve(echo_app(binary=True)) as url:
        _, record = await _replay(url, request, Limits(idle_seconds=0.3, max_seconds=3))
    assert {"binary": True, "data": base64.b64encode(b"\x00\x01\x02").decode()} in record["events"]
    assert record["end"] == "idle"  # truncated capture: read by the limits, not the captured count


def _signalr() -> Request:
    hello = json.dumps({"protocol": "json", "version": 1}) + SEP
    send = json.dumps({"type": 1, "invocationId": "0", "target": "Send", "arguments": ["hi"]}) + SEP
    return _ws(
        Message("send", hello, 0.0),
        Message("receive", "{}" + SEP, 0.01),
        Message("send", send, 0.02),
        Message("receive", json.dumps({"type": 1, "target": "Message", "arguments": [{}]}) + SEP, 0.03),
        Message(
            "receive", json.dumps({"type": 1, "target": "Chunk", "arguments": ["Hello there"]}) + SEP, 0.04
        ),
        Message("receive", json.dumps({"type": 3, "invocationId": "0"}) + SEP, 0.05),
        target="/hub?id=captured-token",
        protocol="",
    )


async def test_signalr_negotiates_per_backend_and_drops_handshake_and_pings() -> None:
    with serve(hub_app()) as url:
        reply, record = await _replay(url, _signalr(), Limits(idle_seconds=0.5, max_seconds=5))
    assert reply.status == 101 and reply.error is None, record
    assert record["stream"] == "signalr"
    assert [e["data"].get("target") for e in record["events"]] == [
        "Message",
        "Chunk",
        "Chunk",
        "Chunk",
        None,
    ], record
    assert all(e["data"] != {"type": 6} for e in record["events"])


def closing_app(*, code: int | None, reason: str = "", delay: float = 0.0, after: int = 2) -> Any:
    """``/ws``: greets, echoes; after ``after`` messages waits ``delay`` and closes (None: stays open)."""
    import asyncio

    from aiohttp import WSMsgType, web

    async def ws(request: web.Request) -> web.StreamResponse:
        sock = web.WebSocketResponse(protocols=("chat.v1",))
        await sock.prepare(request)
        await sock.send_str(json.dumps({"hello": "chat.v1"}))
        echoed = 0
        async for msg in sock:
            if msg.type == WSMsgType.TEXT:
                await sock.send_str("> " + msg.data)
                echoed += 1
                if echoed == after and code is not None:
                    await asyncio.sleep(delay)
                    await sock.close(code=code, message=reason.encode())
        return sock

    app = web.Application()
    app.router.add_get("/ws", ws)
    return app


async def test_the_servers_close_right_after_its_last_message_is_part_of_the_conversation() -> None:
    # A Chrome capture has no close frames: the count is reached, and the close that follows is read.
    from paritycheck.compare import Comparator
    from paritycheck.config import NormaliseConfig

    with (
        serve(closing_app(code=4001, reason="session expired")) as legacy,
        serve(closing_app(code=1000)) as cand,
    ):
        (a, first), (b, second) = await _replay(legacy, _conversation()), await _replay(cand, _conversation())
    assert first["close"] == {"code": 4001, "reason": "session expired"}
    assert second["close"] == {"code": 1000, "reason": ""}
    found = {(d.path, d.legacy, d.candidate) for d in Comparator(NormaliseConfig()).compare("WS /ws", a, b)}
    assert found == {("$.close.code", 4001, 1000), ("$.close.reason", "session expired", "")}
    # A server that keeps the connection open costs only the short grace, not idle_seconds.
    with serve(closing_app(code=None)) as url:
        reply, record = await _replay(url, _conversation(), Limits(idle_seconds=5, max_seconds=10))
    assert record["close"] is None and record["end"] == "captured count" and reply.error is None


async def test_a_captured_server_close_is_waited_for_and_compared() -> None:
    from paritycheck.models import Close

    captured = _conversation()
    assert captured.stream is not None
    stream = Stream("websocket", captured.stream.messages, close=Close(4001, "bye", "server"))
    request = Request(captured.method, captured.url, captured.path, captured.query, captured.headers,
                      stream=stream)  # fmt: skip
    # Closing 0.4 s after the last message: past the grace, within idle_seconds: the capture says wait.
    with (
        serve(closing_app(code=4001, reason="bye", delay=0.4)) as slow,
        serve(closing_app(code=None)) as open_,
    ):
        _, closed = await _replay(slow, request, Limits(idle_seconds=1.5, max_seconds=5))
        _, never = await _replay(open_, request, Limits(idle_seconds=0.3, max_seconds=5))
    assert closed["close"] == {"code": 4001, "reason": "bye"} and never["close"] is None


async def test_signalr_ends_when_its_invocations_are_complete_not_after_idle() -> None:
    with serve(hub_app()) as url:
        _, record = await _replay(url, _signalr(), Limits(idle_seconds=3, max_seconds=10))
    # "completed", not "idle": the conversation had ended, so no idle_seconds (3 s) was waited.
    assert record["end"] == "completed" and record["events"][-1]["data"]["type"] == 3
