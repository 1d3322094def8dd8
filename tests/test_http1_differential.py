"""The lean client reads every reply as aiohttp's does: generated replies, both clients, same results.

Hypothesis draws a reply (status, repeated headers, a body framed by Content-Length, chunks or the
connection's close, maybe gzip- or deflate-encoded) and how the server cuts it into packets. Both
clients fetch it over connections they keep alive across examples, so a reply that one of them frames
wrongly also shows up as a wrong reply to the next request.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck.common import aio
from paritycheck.models import Request
from paritycheck.replay import Transport, make_transport
from tests.servers import Raw, serve


@dataclass(frozen=True)
class Case:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    framing: str  # "length", "chunked" or "close"
    encoding: str  # "", "gzip" or "deflate"
    cuts: tuple[int, ...]  # where the server splits its bytes into separate writes

    def wire(self) -> bytes:
        body = self.body
        if self.encoding == "gzip":
            body = gzip.compress(body)
        elif self.encoding == "deflate":
            body = zlib.compress(body)
        head = [f"HTTP/1.1 {self.status} X", *(f"{k}: {v}" for k, v in self.headers)]
        if self.encoding:
            head.append(f"Content-Encoding: {self.encoding}")
        no_body = self.status in (204, 304)
        if no_body:
            body = b""
        elif self.framing == "length":
            head.append(f"Content-Length: {len(body)}")
        elif self.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
            step = max(1, len(body) // 3)
            parts = [body[i : i + step] for i in range(0, len(body), step)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        else:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


NAMES = st.sampled_from(["X-Trace", "Set-Cookie", "Cache-Control", "Content-Type", "Location", "Vary"])
VALUES = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
cases = st.builds(
    Case,
    status=st.sampled_from([200, 201, 204, 301, 304, 400, 404, 422, 500, 503]),
    headers=st.lists(st.tuples(NAMES, VALUES), max_size=5).map(tuple),
    body=st.one_of(st.binary(max_size=3000), st.text(max_size=500).map(str.encode)),
    framing=st.sampled_from(["length", "chunked", "close"]),
    encoding=st.sampled_from(["", "", "gzip", "deflate"]),
    cuts=st.lists(st.integers(min_value=1, max_value=4000), max_size=4).map(lambda c: tuple(sorted(set(c)))),
)


class Server:
    """A raw server that answers ``GET /N`` with case N's bytes, cut as the case says."""

    def __init__(self) -> None:
        self.cases: dict[int, Case] = {}

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            case = self.cases[int(head.split(b" ")[1].strip(b"/"))]
            data, last = case.wire(), 0
            for cut in (*case.cuts, len(data)):
                if last < cut <= len(data):
                    writer.write(data[last:cut])
                    await writer.drain()
                    await asyncio.sleep(0)
                    last = cut
            if case.framing == "close" and case.status not in (204, 304):
                return  # the close ends the body


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[asyncio.Runner, Server, str, dict[str, Transport]]]:
    server = Server()
    with serve(Raw(server)) as url, asyncio.Runner(loop_factory=aio.loop_factory()) as runner:
        clients = {kind: make_transport(kind, concurrency=2) for kind in ("http1", "aiohttp")}
        yield runner, server, url, clients
        for client in clients.values():
            runner.run(client.aclose())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases)
def test_the_lean_client_reads_replies_as_aiohttp_does(
    setup: tuple[asyncio.Runner, Server, str, dict[str, Transport]], case: Case
) -> None:
    runner, server, url, clients = setup
    n = len(server.cases)
    server.cases[n] = case
    request = Request("GET", f"http://captured/{n}", f"/{n}", "")

    async def both() -> list[tuple[int, tuple[tuple[str, str], ...], bytes, str | None]]:
        replies = [await c.send(url, request, headers={}, timeout=5) for c in clients.values()]
        return [(r.status, r.headers, r.body, r.error) for r in replies]

    lean, reference = runner.run(both())
    assert lean == reference
    assert lean[3] is None and lean[0] == case.status
    if case.status not in (204, 304):
        assert lean[2] == case.body
