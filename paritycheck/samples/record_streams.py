"""Record the demo's streams as a browser's HAR export writes them: ``captures/streams.har``.

An ``EventSource`` on the activity feed (Chrome writes the event-stream text and ``_resourceType``
``eventsource``) and a SignalR chat over WebSocket: the negotiate POST, then the socket with its
``_webSocketMessages`` (``type`` send/receive, ``time`` in epoch seconds, ``opcode``, ``data``).
Regenerate with ``python -m paritycheck.samples.record_streams --out captures/streams.har``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from paritycheck.samples import legacy, serve_app
from paritycheck.samples.live import SEP

_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
_EVENTS = 4


def _iso(moment: float) -> str:
    value = datetime.fromtimestamp(moment, UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _headers(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


Pairs = Sequence[tuple[str, str]]


def _entry(
    method: str, url: str, request: Pairs, status: int, response: Pairs, text: str, started: float, kind: str
) -> dict[str, Any]:
    mime = dict((k.lower(), v) for k, v in response).get("content-type", "")
    return {
        "startedDateTime": _iso(started),
        "time": round((time.time() - started) * 1000, 3),
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": _headers(request),
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": _headers(response),
            "cookies": [],
            "content": {"size": len(text), "mimeType": mime, "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_resourceType": kind,
    }


async def _feed(session: aiohttp.ClientSession, base: str, shown: str) -> dict[str, Any]:
    started = time.time()
    sent = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache"), ("User-Agent", _UA)]
    async with session.get(base + "/api/v1/activity/stream", headers=sent) as resp:
        text = ""
        while text.count("event: activity") < _EVENTS or not text.endswith("\n\n"):
            text += (await resp.content.readany()).decode()
        headers = list(resp.headers.items())
    return _entry("GET", shown + "/api/v1/activity/stream", sent, 200, headers, text, started, "eventsource")


async def _chat(session: aiohttp.ClientSession, base: str, shown: str) -> list[dict[str, Any]]:
    started = time.time()
    sent = [("Content-Type", "text/plain;charset=UTF-8"), ("X-SignalR-User-Agent", "Microsoft SignalR/8.0"),
            ("User-Agent", _UA)]  # fmt: skip
    async with session.post(base + "/hubs/chat/negotiate?negotiateVersion=1", headers=sent) as resp:
        body = await resp.text()
        negotiate = _entry("POST", shown + "/hubs/chat/negotiate?negotiateVersion=1", sent, resp.status,
                           list(resp.headers.items()), body, started, "fetch")  # fmt: skip
        token = json.loads(body)["connectionToken"]
    started = time.time()
    messages: list[dict[str, Any]] = []
    ws_headers = [("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"), ("User-Agent", _UA)]
    async with session.ws_connect(f"{base}/hubs/chat?id={token}") as ws:
        response_headers = list(ws._response.headers.items())

        async def send(text: str) -> None:
            messages.append({"type": "send", "time": time.time(), "opcode": 1, "data": text})
            await ws.send_str(text)

        async def receive_until(done: str) -> None:
            while True:
                msg = await asyncio.wait_for(ws.receive(), 5)
                messages.append({"type": "receive", "time": time.time(), "opcode": 1, "data": msg.data})
                if done in msg.data:
                    return

        await send(json.dumps({"protocol": "json", "version": 1}, separators=(",", ":")) + SEP)
        await receive_until('{"type":6}')
        invoke = {
            "arguments": ["How is revenue doing?"],
            "invocationId": "0",
            "target": "SendMessage",
            "type": 1,
        }
        await send(json.dumps(invoke, separators=(",", ":")) + SEP)
        await receive_until('"type":3')
    url = f"ws://{urlsplit(shown).netloc}/hubs/chat?id={token}"
    entry = _entry("GET", url, ws_headers, 101, response_headers, "", started, "websocket")
    entry["_webSocketMessages"] = messages
    return [negotiate, entry]


async def record(*, recorded_as: str = "http://127.0.0.1:5000") -> dict[str, Any]:
    """Open the feed and the chat on a fresh legacy sample; return the HAR document."""
    runner, url = await serve_app(legacy.make_app(), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            entries = [await _feed(session, url, recorded_as), *await _chat(session, url, recorded_as)]
    finally:
        await runner.cleanup()
    creator = {"name": "paritycheck.samples.record_streams", "version": "1"}
    browser = {"name": "Chrome", "version": "124.0.0.0"}
    return {
        "log": {"version": "1.2", "creator": creator, "browser": browser, "pages": [], "entries": entries}
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paritycheck.samples.record_streams", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("captures/streams.har"))
    options = parser.parse_args(argv)
    har = asyncio.run(record())
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(har, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(har['log']['entries'])} entries to {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
