"""Replay an SSE stream: GET with the captured request, parse events until a limit, record them.

Reading stops at the first of: the captured event count (unless the capture was truncated), the
``max_events`` limit, no event for ``idle_seconds``, ``max_seconds`` in all, or the server closing.
An answer that is not ``text/event-stream`` (a 401, an error page) is recorded with its status and text
and no events, so it compares as a difference, not a failure.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Mapping
from time import perf_counter

import aiohttp
from yarl import URL

from paritycheck.common.sse import Parser
from paritycheck.models import Reply, Request
from paritycheck.replay.aiohttp_client import aiohttp_reason
from paritycheck.replay.record import Limits, Record, event_data
from paritycheck.replay.transport import join_url, outgoing_headers

__all__ = ["replay_sse"]

_SHOWN_BODY = 4096


async def replay_sse(
    base_url: str,
    request: Request,
    *,
    headers: Mapping[str, str],
    limits: Limits,
    timeout: float,  # noqa: ASYNC109 - the connect/handshake deadline; reading has its own limits
) -> Reply:
    stream = request.stream
    assert stream is not None
    record = Record("sse")
    wanted = limits.max_events
    if stream.received and not stream.truncated:
        wanted = min(wanted, stream.received)
    started = perf_counter()
    deadline = started + limits.max_seconds
    url = join_url(base_url, request.target)
    out_headers = outgoing_headers(request, headers)
    if not any(k == "accept" for k, _ in out_headers):
        out_headers.append(("accept", "text/event-stream"))
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=timeout)) as session,
            session.request(
                request.method,
                URL(url, encoded=url.isascii() and " " not in url),
                headers=out_headers,
                data=request.body,
                allow_redirects=False,
            ) as resp,
        ):
            record.status = resp.status
            record.headers = tuple((k.lower(), v) for k, v in resp.headers.items())
            if not resp.headers.get("content-type", "").lower().startswith("text/event-stream"):
                text = (await asyncio.wait_for(resp.content.read(_SHOWN_BODY), timeout)).decode(
                    "utf-8", "replace"
                )
                record.body = text
                record.end = "not a stream"
                return record.reply((perf_counter() - started) * 1000)
            await _read_events(resp, record, wanted=wanted, limits=limits, started=started, deadline=deadline)
    except TimeoutError:
        record.error = f"no answer within {timeout:g}s"
    except Exception as exc:  # a transport never raises
        record.error = aiohttp_reason(exc, timeout)
    return record.reply((perf_counter() - started) * 1000)


async def _read_events(
    resp: aiohttp.ClientResponse,
    record: Record,
    *,
    wanted: int,
    limits: Limits,
    started: float,
    deadline: float,
) -> None:
    parser = Parser()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while True:
        now = perf_counter()
        if now >= deadline:
            record.end = "max_seconds"
            break
        try:
            chunk = await asyncio.wait_for(resp.content.readany(), min(limits.idle_seconds, deadline - now))
        except TimeoutError:
            record.end = "idle" if perf_counter() < deadline else "max_seconds"
            break
        if not chunk:
            record.end = "closed"
            break
        for event in parser.feed(decoder.decode(chunk)):
            if record.first_event_ms is None:
                record.first_event_ms = (perf_counter() - started) * 1000
            item: dict[str, object] = {"event": event.event, "data": event_data(event.data)}
            if event.id is not None:
                item["id"] = event.id
            if event.retry is not None:
                item["retry"] = event.retry
            record.events.append(item)
            if len(record.events) >= wanted:
                break
        record.malformed_lines = parser.malformed
        if parser.pending > limits.max_message_bytes:
            record.error = f"an event larger than {limits.max_message_bytes} bytes"
            record.end = "too large"
            break
        if len(record.events) >= wanted:
            record.end = "max_events" if wanted == limits.max_events else "captured count"
            break
    record.malformed_lines = parser.malformed
