"""Replaying SSE streams against real aiohttp servers on loopback: events, limits and faults."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from paritycheck.common.jsonparse import loads
from paritycheck.models import STREAM_MEDIA, Message, Request, Stream
from paritycheck.replay import Limits, replay_stream
from tests.servers import Raw, refused, serve
from tests.streams.apps import sse_app

FAST = Limits(max_events=50, idle_seconds=0.3, max_seconds=3.0)


def _request(captured: int = 0, *, truncated: bool = False) -> Request:
    messages = tuple(Message("receive", "{}") for _ in range(captured))
    return Request("GET", "/feed", "/feed", stream=Stream("sse", messages, truncated=truncated))


async def _replay(url: str, request: Request, limits: Limits = FAST) -> tuple[Any, Any]:
    reply = await replay_stream(url, request, headers={}, limits=limits, timeout=2.0)
    assert ("content-type", STREAM_MEDIA) in reply.headers
    return reply, loads(reply.body)


async def test_events_are_parsed_and_reading_stops_at_the_captured_count() -> None:
    blocks = ['event: activity\nid: 1\ndata: {"userId": 7}\n\n', ": keep-alive\n\n", "data: a\ndata: b\n\n",
              "data: third\n\n"]  # fmt: skip
    with serve(sse_app(blocks, forever=True)) as url:
        reply, record = await _replay(url, _request(2))
    assert reply.status == 200 and reply.error is None
    assert record["events"] == [
        {"event": "activity", "id": "1", "data": {"userId": 7}},
        {"event": "message", "id": "1", "data": "a\nb"},
    ]
    assert record["end"] == "captured count"
    assert record["first_event_ms"] is not None and round(reply.elapsed_ms, 3) == record["first_event_ms"]


async def test_a_stream_that_never_ends_is_bounded_by_max_events_and_max_seconds() -> None:
    with serve(sse_app([], forever=True)) as url:
        _, by_count = await _replay(
            url, _request(truncated=True), Limits(max_events=5, idle_seconds=1, max_seconds=5)
        )
        _, by_time = await _replay(url, _request(), Limits(max_events=10**6, idle_seconds=1, max_seconds=0.3))
    assert len(by_count["events"]) == 5 and by_count["end"] == "max_events"
    assert by_time["end"] == "max_seconds" and by_time["events"]


async def test_accepted_then_silent_server_ends_by_idle_timeout() -> None:
    with serve(sse_app([], silent=True)) as url:
        reply, record = await _replay(url, _request(3))
    assert reply.error is None and record["events"] == [] and record["end"] == "idle"


async def test_malformed_lines_are_dropped_as_a_browser_does_and_counted() -> None:
    with serve(sse_app(["garbage line\nretry: soon\ndata: ok\n\n"])) as url:
        _, record = await _replay(url, _request())
    assert [e["data"] for e in record["events"]] == ["ok"] and record["malformed_lines"] == 2
    assert record["end"] == "closed"


async def test_a_huge_event_fails_the_reply_with_a_reason() -> None:
    with serve(sse_app(["data: " + "x" * 300_000])) as url:
        reply, record = await _replay(url, _request(), Limits(idle_seconds=1, max_message_bytes=100_000))
    assert reply.error == "an event larger than 100000 bytes" and record["end"] == "too large"


async def test_a_non_stream_answer_is_recorded_with_its_status() -> None:
    with serve(sse_app([], status=401)) as url:
        reply, record = await _replay(url, _request(1))
    assert reply.status == 401 and record["end"] == "not a stream" and json.loads(record["body"])


async def test_refused_connection_is_a_transport_error() -> None:
    with refused() as url:
        reply = await replay_stream(url, _request(1), headers={}, limits=FAST, timeout=1.0)
    assert reply.error == "connection refused"


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    await asyncio.sleep(3600)


async def test_a_server_that_accepts_and_never_answers_is_bounded() -> None:
    limits = Limits(idle_seconds=0.2, max_seconds=0.3)
    with serve(Raw(_never_answers)) as url:
        sse = await replay_stream(url, _request(1), headers={}, limits=limits, timeout=0.3)
        ws_request = Request("GET", "/ws", "/ws", stream=Stream("websocket", (Message("send", "hi"),)))
        ws = await replay_stream(url, ws_request, headers={}, limits=limits, timeout=0.3)
    assert sse.error is not None and "no answer within" in sse.error
    assert ws.error is not None and "no answer within" in ws.error
