"""The proxy relays bytes faithfully both ways (issue 23), and the listener's own bounds.

The client gets what the legacy sent (no ``Date``, ``Server`` or ``Content-Type`` of aiohttp's own, the
legacy's chunks as it sent them) and the legacy gets what the client sent (no ``Accept: */*``, no
``Content-Length: 0`` on a body-less POST). The exceptions are in docs/live-modes.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import pytest

from paritycheck.config import Backend, Backends, NoiseConfig
from paritycheck.live.metrics import MAX_ENDPOINTS, OTHER, Metrics
from paritycheck.live.refusals import BURST, PERIOD, RefusalLog
from paritycheck.models import Exchange, Outcome, Request, Status
from tests.live.livehelpers import config, live
from tests.servers import Raw, serve

ANSWERS = {
    b"/plain": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
    # Framing is the connection's: aiohttp writes Transfer-Encoding after the legacy's own headers.
    b"/chunked": b"HTTP/1.1 200 OK\r\nX-B: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
    b"/gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
    b"/none": b"HTTP/1.1 204 No Content\r\n\r\n",
}


class Legacy:
    """A raw legacy: keeps each request as received (head and body) and answers by path."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lower = head.lower()
            body = b""
            if b"transfer-encoding: chunked" in lower:
                while not body.endswith(b"0\r\n\r\n"):
                    body += await reader.read(65536)
            elif b"content-length:" in lower:
                length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
            self.received.append(head + body)
            method, target = head.split(b" ")[:2]
            answer = ANSWERS.get(target.split(b"?")[0], ANSWERS[b"/plain"])
            writer.write(answer.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" if method == b"HEAD" else answer)
            await writer.drain()


async def raw(port: int, request: bytes) -> bytes:
    """One request on its own connection; the answer's bytes (as many as come in 0.3 s of quiet)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 0.3):
            data += chunk
    except TimeoutError:
        pass
    writer.close()
    await writer.wait_closed()
    return data


#: One request of each kind a client sends: query, body-less and empty POSTs, a length, chunks...
REQUESTS = {
    "get": b"GET /plain?x=1&y=%20 HTTP/1.1\r\nHost: api\r\nX-Trace: t1\r\n\r\n",
    "post-no-body": b"POST /plain HTTP/1.1\r\nHost: api\r\n\r\n",
    "post-length-0": b"POST /plain HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\n\r\n",
    "put": b"PUT /plain HTTP/1.1\r\nHost: api\r\nContent-Type: text/csv\r\nContent-Length: 3\r\n\r\na,b",
    "post-chunked": b"POST /plain HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
    "chunked": b"GET /chunked HTTP/1.1\r\nHost: api\r\n\r\n",
    "gzip": b"GET /gzip HTTP/1.1\r\nHost: api\r\nAccept-Encoding: gzip\r\n\r\n",
    "204": b"GET /none HTTP/1.1\r\nHost: api\r\n\r\n",
    "head": b"HEAD /plain HTTP/1.1\r\nHost: api\r\n\r\n",
    # The proxy answers the expectation itself and forwards the body without it: this legacy never
    # sends 100 Continue, so a forwarded Expect would leave the request waiting for it.
    "expect": b"PUT /plain HTTP/1.1\r\nHost: api\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


async def test_each_side_gets_what_the_other_sent(tmp_path: Path) -> None:
    legacy = Legacy()
    cfg = dataclasses.replace(config("http://x", "http://y"), noise=NoiseConfig(samples=0))  # no re-asks
    with serve(Raw(legacy)) as legacy_url, serve(Raw(Legacy())) as twin, serve(Raw(Legacy())) as candidate:
        backends = Backends(legacy=Backend(url=legacy_url), candidate=Backend(url=candidate))
        async with live(dataclasses.replace(cfg, backends=backends), tmp_path / "s.db") as server:
            for name, request in REQUESTS.items():
                legacy.received.clear()
                # At once: each waits for 0.3 s of quiet after the answer.
                answer, direct = await asyncio.gather(
                    raw(server.port, request), raw(int(twin.rsplit(":", 1)[1]), request)
                )
                # The answer, byte for byte as the legacy sent it (a HEAD answer has no body).
                assert answer.removeprefix(CONTINUE if name == "expect" else b"") == direct, name
                # The request as the client sent it, but for Host: the legacy's (as nginx's proxy_pass).
                sent = request.replace(b"Host: api", f"Host: {legacy_url.removeprefix('http://')}".encode())
                assert legacy.received == [sent.replace(b"Expect: 100-continue\r\n", b"")], name
            await server.stop()


def outcome(endpoint: str, reason: str | None = None) -> Outcome:
    exchange = Exchange(index=0, source="live", request=Request("GET", "/", "/"))
    status = Status.SKIPPED if reason else Status.MATCHED
    return Outcome(exchange=exchange, endpoint=endpoint, status=status, reason=reason)


def test_metrics_labels_are_bounded_with_an_other_bucket() -> None:
    metrics = Metrics()
    for i in range(3000):  # 3,000 distinct paths made 3,019 series before (issue 23)
        metrics.count(outcome(f"GET /pages/page-{i}-x"))
        metrics.count(outcome("GET /pages/{id}", reason=f"unsafe method M{i} (use --allow-writes)"))
    text = metrics.render().decode()
    series = [line for line in text.splitlines() if line.startswith("paritycheck_live_exchanges_total{")]
    assert len(series) == MAX_ENDPOINTS + 1  # the first 200 (GET /pages/{id} among them) and "other"
    assert f'endpoint="{OTHER}"' in text
    assert metrics.totals.seen == 6000  # the totals stay exact
    assert (
        len([line for line in text.splitlines() if line.startswith("paritycheck_live_skipped_total{")]) <= 51
    )
    assert len(text) < 64 * 1024


def test_malformed_requests_are_one_line_each_rate_limited_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aiohttp.http_exceptions import BadStatusLine

    counted: list[str] = []
    now = [0.0]
    log = RefusalLog("paritycheck.live.test", on_malformed=counted.append, clock=lambda: now[0])
    caplog.set_level(logging.WARNING)
    for _ in range(3 * BURST):
        log.exception(
            "Error handling request from %s", "10.0.0.9", exc_info=BadStatusLine("GET /?token=s3cret")
        )
    now[0] += PERIOD
    log.exception("Error handling request from %s", "10.0.0.9", exc_info=BadStatusLine("x"))
    lines = [r.getMessage() for r in caplog.records]
    assert counted == ["bad status line"] * (3 * BURST + 1)
    assert len(lines) == BURST + 1
    assert lines[0] == "listener: refused a malformed request from 10.0.0.9: bad status line (answered 400)"
    assert lines[-1].endswith(f"({2 * BURST} more not shown)")
    assert all(r.exc_info is None for r in caplog.records) and not any("s3cret" in line for line in lines)
