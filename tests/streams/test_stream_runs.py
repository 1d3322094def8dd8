"""Whole runs with streams: a HAR holding SSE and WebSocket entries replayed against two live backends."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from paritycheck.config import parse
from paritycheck.models import Status
from paritycheck.run import runner
from paritycheck.store import Store
from tests.servers import serve
from tests.streams.apps import echo_app, sse_app


def _app(*, user_key: str, prefix: str, refuse: int = 0) -> web.Application:
    app = sse_app([f'event: activity\ndata: {{"{user_key}": 7, "n": {i}}}\n\n' for i in range(3)])
    app.add_subapp("/sock", echo_app(prefix=prefix, refuse=refuse))
    return app


def _har(tmp_path: Path) -> Path:
    def entry(url: str, **extra: Any) -> dict[str, Any]:
        sse = "text/event-stream"
        text = "".join(f"data: {i}\n\n" for i in range(3))
        return {"startedDateTime": "2024-01-01T00:00:00Z",
                "request": {"method": "GET", "url": url, "headers": [{"name": "Accept", "value": sse}]},
                "response": {"status": 200, "headers": [{"name": "Content-Type", "value": sse}],
                             "content": {"mimeType": sse, "text": text}},
                **extra}  # fmt: skip

    ws = [
        {"type": "receive", "time": 1.0, "opcode": 1, "data": '{"hello": "none"}'},
        {"type": "send", "time": 1.1, "opcode": 1, "data": "hi"},
        {"type": "receive", "time": 1.2, "opcode": 1, "data": "> hi"},
    ]
    entries = [entry("https://app.test/feed"), entry("wss://app.test/sock/ws", _webSocketMessages=ws)]
    path = tmp_path / "c.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


async def _run(tmp_path: Path, legacy: web.Application, candidate: web.Application) -> Any:
    with serve(legacy) as legacy_url, serve(candidate) as candidate_url:
        config = parse({"backends": {"legacy": legacy_url, "candidate": candidate_url},
                        "noise": {"samples": 0}, "streams": {"idle_seconds": 0.5, "max_seconds": 5}},
                       source="t")  # fmt: skip
        return await runner.replay_captures(config, [_har(tmp_path)], db=tmp_path / "r.db")


async def test_camel_and_snake_feeds_match_and_a_changed_reply_is_found(tmp_path: Path) -> None:
    result = await _run(
        tmp_path, _app(user_key="userId", prefix="> "), _app(user_key="user_id", prefix=">> ")
    )
    with Store.open(tmp_path / "r.db", create=False) as store:
        outcomes = {o.endpoint: o for o in store.exchanges(result.run_id)}
    assert result.summary.total == 2 and result.summary.failed == 0
    feed = next(o for e, o in outcomes.items() if "feed" in e)
    sock = next(o for e, o in outcomes.items() if "ws" in e)
    assert feed.outcome == Status.MATCHED, feed.differences
    assert sock.outcome == Status.MISMATCHED
    assert [(d.kind, d.path) for d in sock.differences] == [("changed", "$.events[1].data")]


async def test_a_refused_upgrade_is_a_compared_difference_and_totals_reconcile(tmp_path: Path) -> None:
    result = await _run(
        tmp_path, _app(user_key="userId", prefix="> "), _app(user_key="userId", prefix="> ", refuse=401)
    )
    s = result.summary
    assert s.total == 2 and s.matched + s.mismatched + s.failed + s.skipped == s.total
    with Store.open(tmp_path / "r.db", create=False) as store:
        sock = next(o for o in store.exchanges(result.run_id) if "ws" in o.endpoint)
    assert ("status", "status", 101, 401) in [
        (d.kind, d.path, d.legacy, d.candidate) for d in sock.differences
    ]


def _random_feed(key: str) -> web.Application:
    async def feed(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(2):
            await resp.write(f'data: {{"{key}": {i}, "nonce": "{uuid.uuid4()}"}}\n\n'.encode())
        return resp

    app = web.Application()
    app.router.add_get("/feed", feed)
    return app


async def test_values_the_legacy_varies_itself_are_learned_as_noise_per_event_path(tmp_path: Path) -> None:
    sse = "text/event-stream"
    entry = {"startedDateTime": "2024-01-01T00:00:00Z",
             "request": {"method": "GET", "url": "https://app.test/feed", "headers": []},
             "response": {"status": 200, "headers": [{"name": "Content-Type", "value": sse}],
                          "content": {"mimeType": sse, "text": "data: 1\n\ndata: 2\n\n"}}}  # fmt: skip
    har = tmp_path / "c.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry] * 6}}))
    with serve(_random_feed("n")) as legacy_url, serve(_random_feed("n")) as candidate_url:
        config = parse({"backends": {"legacy": legacy_url, "candidate": candidate_url},
                        "noise": {"samples": 5}, "streams": {"idle_seconds": 0.5}}, source="t")  # fmt: skip
        result = await runner.replay_captures(config, [har], db=tmp_path / "r.db")
    assert result.summary.matched == 6, result.summary.to_json()
    with Store.open(tmp_path / "r.db", create=False) as store:
        paths = {p.path for p in store.noise_paths(result.run_id)}
    assert paths == {"$.events[*].data.nonce"}  # one path for the event field, whatever its position


def test_per_backend_rewrites_keep_the_stream() -> None:
    from paritycheck.models import Message, Request, Stream
    from paritycheck.session import correlate

    stream = Stream("websocket", (Message("send", "hi"),))
    request = Request("GET", "wss://x.test/ws/7", "/ws/7", stream=stream)
    rewritten = correlate.rewrite(request, lambda text, place: 8 if text == "7" else None)
    assert rewritten.path == "/ws/8" and rewritten.stream is stream


async def test_secrets_in_stream_events_are_redacted_before_they_are_stored(tmp_path: Path) -> None:
    feed = sse_app(['data: {"accessToken": "s3cr3t-token-value", "n": 1}\n\n'])
    with serve(feed) as legacy_url, serve(sse_app(['data: {"n": 1}\n\n'])) as candidate_url:
        config = parse({"backends": {"legacy": legacy_url, "candidate": candidate_url},
                        "noise": {"samples": 0}, "streams": {"idle_seconds": 0.3}}, source="t")  # fmt: skip
        har = _har(tmp_path)
        await runner.replay_captures(config, [har], db=tmp_path / "r.db")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))  # noqa: ASYNC240 - a test
    assert b"s3cr3t-token-value" not in stored
    with Store.open(tmp_path / "r.db", create=False) as store:
        feed_exchange = next(x for x in store.exchanges(1) if "feed" in x.endpoint)
        assert feed_exchange.legacy is not None and feed_exchange.legacy.body is not None
        assert b"accessToken" in store.body(feed_exchange.legacy.body)  # the key is kept, its value redacted
