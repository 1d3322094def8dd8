"""The demo's live endpoints: an SSE activity feed and a SignalR chat hub with a streamed reply.

The legacy answers as ASP.NET Core does: camelCase events, .NET timestamps, a real SignalR JSON hub
protocol (negotiate, the ``{"protocol":"json","version":1}`` handshake, 0x1E-separated records, pings,
invocations, completions), so a real SignalR client library can talk to it (tests/samples). The port
emulates the same framing over FastAPI-style WebSockets with snake_case payloads and its own chunking,
plus seeded differences (docs/demo.md):

- SEEDED real bug: the port's activity feed drops ``goal.completed`` events (an ``event-missing``).
- SEEDED real bug: the port's chat echo calls the sender ``username`` instead of ``user``.
- Format noise that must not count: key case, timestamp format, the reply's chunk boundaries, each
  side's own connection tokens.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web

SEP = "\x1e"
REPLY = "Revenue is at 82% of its quarterly target; on track."
_ACTIVITY = (
    ("kpi.updated", 1, "Revenue"),
    ("goal.created", 2, "Churn below 3%"),
    ("goal.completed", 3, "Launch NPS survey"),
    ("kpi.updated", 4, "Net promoter score"),
)
_START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _activity(candidate: bool) -> list[tuple[str, str]]:
    out = []
    for n, (kind, kpi, title) in enumerate(_ACTIVITY, start=1):
        if candidate and kind == "goal.completed":
            continue  # SEEDED real bug: the port never publishes completed goals
        moment = _START + timedelta(minutes=n)
        if candidate:
            doc = {
                "activity_id": n,
                "kind": kind,
                "kpi_id": kpi,
                "title": title,
                "occurred_at": moment.isoformat(),
            }
        else:
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
            doc = {"activityId": n, "kind": kind, "kpiId": kpi, "title": title, "occurredAt": stamp}
        out.append((str(n), json.dumps(doc)))
    return out


def _chunks(candidate: bool) -> list[str]:
    size = 9 if candidate else 20  # each side streams the same reply in its own chunks
    return [REPLY[i : i + size] for i in range(0, len(REPLY), size)]


def add_routes(app: web.Application, *, candidate: bool) -> None:
    """Add ``GET /api/v1/activity/stream`` and the ``/hubs/chat`` SignalR hub to ``app``."""
    tokens: set[str] = set()

    async def feed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        try:
            await resp.write(b": connected\n\n" if candidate else b"retry: 5000\n\n")
            for ident, doc in _activity(candidate):
                await resp.write(f"event: activity\nid: {ident}\ndata: {doc}\n\n".encode())
                await asyncio.sleep(0.01)
            ticks = 0
            # A live feed never ends on its own: it stops when the client goes away.
            while request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.1)
                ticks += 1
                if ticks % 150 == 0:
                    await resp.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def negotiate(request: web.Request) -> web.Response:
        token, connection = secrets.token_urlsafe(16), secrets.token_urlsafe(8)
        # negotiateVersion 1 clients connect with the token, version 0 clients (pysignalr) with the id.
        tokens.update((token, connection))
        transports = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
        return web.json_response(
            {
                "negotiateVersion": 1,
                "connectionId": connection,
                "connectionToken": token,
                "availableTransports": transports,
            }
        )

    async def hub(request: web.Request) -> web.StreamResponse:
        if request.query.get("id") not in tokens:
            return web.Response(status=404, text="No Connection with that ID")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            for part in filter(None, msg.data.split(SEP)):
                if not await _on_record(ws, json.loads(part), candidate=candidate):
                    await ws.close()
                    return ws
        return ws

    app.router.add_get("/api/v1/activity/stream", feed)
    app.router.add_post("/hubs/chat/negotiate", negotiate)
    app.router.add_get("/hubs/chat", hub)


async def _send(ws: web.WebSocketResponse, *records: dict[str, Any]) -> None:
    await ws.send_str("".join(json.dumps(r, separators=(",", ":")) + SEP for r in records))


async def _on_record(ws: web.WebSocketResponse, doc: dict[str, Any], *, candidate: bool) -> bool:
    """Answer one hub record; False when the client closed (type 7)."""
    if "protocol" in doc:
        await _send(ws, {})  # the handshake answer
        await _send(ws, {"type": 6})
        return True
    kind = doc.get("type")
    if kind == 7:
        return False
    if kind != 1 or doc.get("target") != "SendMessage":
        return True
    text = str((doc.get("arguments") or [""])[0])
    who = {"username": "ana"} if candidate else {"user": "ana"}  # SEEDED real bug: a renamed field
    await _send(ws, {"type": 1, "target": "ReceiveMessage", "arguments": [{**who, "text": text}]})
    for chunk in _chunks(candidate):
        await _send(ws, {"type": 1, "target": "ReceiveChunk", "arguments": [chunk]})
        await asyncio.sleep(0.005)
    if "invocationId" in doc:
        await _send(ws, {"type": 3, "invocationId": doc["invocationId"], "result": None})
    return True
