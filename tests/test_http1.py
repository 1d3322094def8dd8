"""The lean HTTP/1.1 client (replay/http1.py) where HTTP/1.1 is subtle, against raw loopback servers.

The behaviour every transport shares (failures as replies, max_body, redirects, gzip...) is tested for
all of them in test_transport.py; these are the cases a hand-held connection pool can get wrong.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator

import pytest

from paritycheck.models import Request, header
from paritycheck.replay.http1 import MAX_FIELD_BYTES, MAX_HEADERS, Http1Transport
from tests.rss import sampled
from tests.servers import Raw, serve


def request(
    method: str = "GET", target: str = "/items", body: bytes | None = None, **headers: str
) -> Request:
    path, _, query = target.partition("?")
    pairs = tuple((k.replace("_", "-"), v) for k, v in headers.items())
    return Request(method, f"http://captured{target}", path, query, pairs, body)


@pytest.fixture
async def client() -> AsyncIterator[Http1Transport]:
    t = Http1Transport(concurrency=4, max_body=1 << 20)
    yield t
    await t.aclose()


class Conversation:
    """A raw server answering each request on a connection with the next of ``answers`` (bytes, or a
    callable of the request head); it counts connections and keeps every request head and body."""

    def __init__(self, *answers: bytes, close_after: int = 0) -> None:
        self.answers = answers
        self.close_after = close_after  # close each connection after this many answers (0: never)
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ),
                0,
            )
            self.bodies.append(await reader.readexactly(length))
            self.heads.append(head)
            answer = self.answers[min(len(self.heads), len(self.answers)) - 1]
            writer.write(answer)
            await writer.drain()
            served += 1
            if self.close_after and served >= self.close_after:
                return


def ok(body: bytes = b'{"ok": true}', *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in extra) + b"\r\n" + body


async def test_keep_alive_reuses_one_connection(client: Http1Transport) -> None:
    server = Conversation(ok())
    with serve(Raw(server)) as url:
        for _ in range(5):
            reply = await client.send(url, request(), headers={}, timeout=5)
            assert (reply.status, reply.error) == (200, None)
    assert server.connections == 1
    assert len(server.heads) == 5


async def test_concurrent_requests_each_get_their_own_reply(client: Http1Transport) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            target = head.split(b" ")[1]
            await asyncio.sleep(0.001 * (target[-1] % 5))  # out of order across connections
            writer.write(ok(json.dumps({"target": target.decode()}).encode()))
            await writer.drain()

    with serve(Raw(echo)) as url:
        targets = [f"/items/{i}" for i in range(40)]
        replies = await asyncio.gather(
            *(client.send(url, request(target=t), headers={}, timeout=5) for t in targets)
        )
    assert [json.loads(r.body)["target"] for r in replies] == targets


async def test_an_idle_connection_the_backend_closed_is_retried_for_idempotent_methods(
    client: Http1Transport,
) -> None:
    server = Conversation(ok(), close_after=1)  # closes every connection after one answer
    with serve(Raw(server)) as url:
        first = await client.send(url, request(), headers={}, timeout=5)
        await asyncio.sleep(0.05)  # the close reaches the client while its connection is idle...
        second = await client.send(url, request("PUT", body=b"{}"), headers={}, timeout=5)
    assert (first.status, second.status, second.error) == (200, 200, None)
    assert server.connections == 2


async def test_a_write_is_never_sent_twice_when_a_reused_connection_dies(client: Http1Transport) -> None:
    async def dies_after_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ok())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # reads the POST, then drops the connection unanswered
        seen.append("post")

    seen: list[str] = []
    with serve(Raw(dies_after_first)) as url:
        assert (await client.send(url, request(), headers={}, timeout=5)).status == 200
        reply = await client.send(url, request("POST", body=b'{"a": 1}'), headers={}, timeout=5)
    assert (reply.status, reply.error) == (0, "connection closed before reply")
    assert seen == ["post"]


async def test_head_ends_at_the_headers_even_with_a_content_length(client: Http1Transport) -> None:
    server = Conversation(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\ncontent-type: text/plain\r\n\r\n")
    with serve(Raw(server)) as url:
        reply = await client.send(url, request("HEAD"), headers={}, timeout=2)
    assert (reply.status, reply.error, reply.body) == (200, None, b"")
    assert header(reply.headers, "content-length") == "5000"


async def test_interim_replies_are_skipped(client: Http1Transport) -> None:
    early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"
    server = Conversation(early + ok(b'{"done": 1}'))
    with serve(Raw(server)) as url:
        reply = await client.send(
            url, request("POST", body=b"{}", expect="100-continue"), headers={}, timeout=2
        )
    assert (reply.status, json.loads(reply.body)) == (200, {"done": 1})
    assert header(reply.headers, "link") is None


async def test_a_body_delimited_by_the_close_is_read_whole(client: Http1Transport) -> None:
    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n")
        writer.write(b'{"items": [1, 2, 3]}')
        await writer.drain()
        writer.close()

    with serve(Raw(http10)) as url:
        replies = [await client.send(url, request(), headers={}, timeout=2) for _ in range(2)]
    assert [json.loads(r.body) for r in replies] == [{"items": [1, 2, 3]}] * 2


async def test_connection_close_is_honoured(client: Http1Transport) -> None:
    server = Conversation(ok(b"{}", b"connection: close"), close_after=1)
    with serve(Raw(server)) as url:
        replies = [await client.send(url, request(), headers={}, timeout=2) for _ in range(3)]
    assert [r.status for r in replies] == [200] * 3
    assert server.connections == 3


async def test_no_content_keeps_the_connection(client: Http1Transport) -> None:
    server = Conversation(b"HTTP/1.1 204 No Content\r\n\r\n", ok())
    with serve(Raw(server)) as url:
        first = await client.send(url, request("DELETE"), headers={}, timeout=2)
        second = await client.send(url, request(), headers={}, timeout=2)
    assert (first.status, first.body, second.status) == (204, b"", 200)
    assert server.connections == 1


@pytest.mark.parametrize("wrap", [zlib.compress, lambda b: zlib.compress(b)[2:-4]], ids=["zlib", "raw"])
async def test_deflate_both_ways_servers_send_it(client: Http1Transport, wrap: object) -> None:
    body = json.dumps({"items": list(range(100))}).encode()
    assert callable(wrap)
    server = Conversation(ok(wrap(body), b"content-encoding: deflate"))
    with serve(Raw(server)) as url:
        reply = await client.send(url, request(), headers={}, timeout=2)
    assert (reply.error, json.loads(reply.body)) == (None, {"items": list(range(100))})


async def test_a_corrupt_gzip_body_is_a_failed_reply(client: Http1Transport) -> None:
    server = Conversation(ok(b"this is not gzip", b"content-encoding: gzip"))
    with serve(Raw(server)) as url:
        reply = await client.send(url, request(), headers={}, timeout=2)
    assert (reply.status, reply.error) == (0, "invalid compressed body")


async def test_a_compressed_bomb_is_summarised_not_inflated_whole() -> None:
    client = Http1Transport(max_body=1 << 20)
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)  # 64 MiB of zeros in ~64 KB
    server = Conversation(ok(bomb, b"content-encoding: gzip"))
    with serve(Raw(server)) as url:
        reply = await client.send(url, request(), headers={}, timeout=10)
    await client.aclose()
    summary = json.loads(reply.body)["paritycheck_oversized_body"]
    assert summary["bytes"] == 64 << 20


async def test_a_line_break_in_a_header_is_refused_not_sent(client: Http1Transport) -> None:
    server = Conversation(ok())
    with serve(Raw(server)) as url:
        reply = await client.send(url, request(x_note="a\r\nx-injected: 1"), headers={}, timeout=2)
    assert reply.status == 0
    assert reply.error == "client error: a header or the target holds a line break"
    assert server.heads == []


async def test_what_is_sent(client: Http1Transport) -> None:
    server = Conversation(ok())
    with serve(Raw(server)) as url:
        await client.send(
            url + "/api/", request("POST", "/items?q=é ü", b"abc", accept="text/csv"), headers={}, timeout=2
        )
        await client.send(url, request("POST"), headers={"authorization": "Bearer t"}, timeout=2)
    first, second = (h.decode().lower().split("\r\n") for h in server.heads)
    assert first[0] == "post /api/items?q=%c3%a9+%c3%bc http/1.1"  # as aiohttp (yarl) encodes it
    assert f"host: {url.removeprefix('http://')}" in first
    assert "accept: text/csv" in first and "accept: */*" not in first
    assert "content-length: 3" in first and "accept-encoding: gzip, deflate" in first
    assert any(line.startswith("user-agent: paritycheck/") for line in first)
    assert "content-length: 0" in second and "authorization: bearer t" in second
    assert server.bodies == [b"abc", b""]


async def test_a_timeout_mid_reply_spends_only_that_connection(client: Http1Transport) -> None:
    async def slow_then_fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/slow" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{")
            await writer.drain()
            await asyncio.sleep(5)
        writer.write(ok())
        await writer.drain()
        await reader.read()

    with serve(Raw(slow_then_fast)) as url:
        slow = await client.send(url, request(target="/slow"), headers={}, timeout=0.2)
        fast = await client.send(url, request(), headers={}, timeout=2)
    assert (slow.status, slow.error) == (0, "timeout after 0.2s")
    assert (fast.status, fast.error) == (200, None)


async def test_bytes_beyond_the_announced_body_never_reach_the_next_request(client: Http1Transport) -> None:
    # One reply says 2 bytes but sends a whole second reply behind them, in the same packet.
    smuggled = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}" + ok(b'{"smuggled": true}')
    server = Conversation(smuggled, ok(b'{"second": true}'))
    with serve(Raw(server)) as url:
        first = await client.send(url, request(), headers={}, timeout=2)
        second = await client.send(url, request(), headers={}, timeout=2)
    assert (first.body, json.loads(second.body)) == (b"{}", {"second": True})
    assert server.connections == 2


async def test_trailers_are_not_reply_headers(client: Http1Transport) -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-digest\r\n\r\n"
    server = Conversation(chunked + b"2\r\n{}\r\n0\r\nx-digest: abc\r\n\r\n")
    with serve(Raw(server)) as url:
        reply = await client.send(url, request(), headers={}, timeout=2)
    assert (reply.status, reply.body, header(reply.headers, "x-digest")) == (200, b"{}", None)


CHUNKED_TRAILER = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"


def endless(head: bytes, line: bytes) -> Raw:
    """A backend that answers ``head`` and then ``line`` again and again, until the client gives up."""

    async def callback(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        for _ in range(1 << 20):  # up to ~1 GiB of 1 KiB lines: far past any bound
            writer.write(line)
            await writer.drain()

    return Raw(callback)


@pytest.mark.parametrize(
    ("head", "line", "error"),
    [
        (b"HTTP/1.1 200 OK\r\n", b"x-pad: " + b"a" * 100 + b"\r\n", "more than 128 header fields"),
        (b"HTTP/1.1 200 OK\r\nx-pad: ", b"a" * 1024, "headers over 100 KiB"),
        (b"", b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n", "headers over 100 KiB"),
        (
            CHUNKED_TRAILER,
            b"x-trailer: " + b"a" * 100 + b"\r\n",
            "more than 128 trailer fields",
        ),
        (CHUNKED_TRAILER + b"x-t: ", b"a" * 1024, "headers over 100 KiB"),
    ],
    ids=["many-fields", "one-endless-field", "endless-interim-replies", "many-trailers", "endless-trailer"],
)
async def test_a_backend_sending_headers_without_end_costs_a_failed_reply_not_memory(
    client: Http1Transport, head: bytes, line: bytes, error: str
) -> None:
    with serve(endless(head, line)) as url:
        async with sampled({"client": None}) as memory:
            reply = await client.send(url, request(), headers={}, timeout=10)
    assert reply.status == 0
    assert reply.error is not None and reply.error.startswith("invalid HTTP response: ")
    assert reply.error.endswith(error)
    assert memory.growth()["client"] < 100  # MiB: the bound (an unbounded client took GBs in 5 s)


async def test_a_head_at_the_bounds_is_read(client: Http1Transport) -> None:
    fields = [b"x-f%03d: %s" % (i, b"v" * 600) for i in range(MAX_HEADERS - 3)]  # ~76 KiB, under 100
    wide = b"x-wide: " + b"w" * (MAX_FIELD_BYTES - len("x-wide"))
    server = Conversation(ok(b"{}", wide, *fields))
    too_many = Conversation(ok(b"{}", *fields, b"x-a: 1", b"x-b: 2"))
    too_wide = Conversation(ok(b"{}", wide + b"w"))
    with serve(Raw(server)) as url, serve(Raw(too_many)) as many, serve(Raw(too_wide)) as wider:
        reply = await client.send(url, request(), headers={}, timeout=2)
        refused = await client.send(many, request(), headers={}, timeout=2)
        long = await client.send(wider, request(), headers={}, timeout=2)
    assert (reply.status, len(reply.headers)) == (200, MAX_HEADERS)
    assert refused.error == f"invalid HTTP response: more than {MAX_HEADERS} header fields"
    assert long.error == f"invalid HTTP response: a header field over {MAX_FIELD_BYTES} bytes"


async def test_a_method_that_is_not_a_token_is_never_sent(client: Http1Transport) -> None:
    server = Conversation(ok())
    with serve(Raw(server)) as url:
        reply = await client.send(url, request("GET /admin?x="), headers={}, timeout=2)
    assert (reply.status, reply.error) == (0, "client error: the method is not an HTTP token")
    assert server.heads == []
