"""The inline proxy: the client gets the legacy's reply untouched; the shadow never hurts it."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp import web

from paritycheck.config import NoiseConfig
from paritycheck.errors import ConfigError
from paritycheck.live import LiveOptions, LiveServer
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, live


def counting(body: bytes, calls: list[str], *, cookies: int = 2) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        data = await request.read()
        calls.append(f"{request.method} {request.path_qs} {len(data)}")
        resp = web.Response(body=body, status=201, reason="Made It", content_type="application/json")
        for i in range(cookies):
            resp.headers.add("Set-Cookie", f"c{i}=v{i}; Path=/")
        resp.headers["X-Legacy"] = "yes"
        return resp

    return handle


async def test_client_gets_legacy_bytes_on_many_keepalive_connections(tmp_path: Path) -> None:
    legacy_calls: list[str] = []
    cand_calls: list[str] = []
    async with (
        backend(counting(b'{"id": 1, "name": "a"}', legacy_calls)) as legacy,
        backend(counting(b'{"id": 1, "name": "b"}', cand_calls)) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        url = f"http://127.0.0.1:{server.port}"
        connector = aiohttp.TCPConnector(limit=20)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as client:

            async def one(base: str, i: int) -> tuple[int, str | None, list[tuple[str, str]], bytes]:
                async with client.get(f"{base}/items/{i}?q=1") as r:
                    body = await r.read()
                    headers = [(k, v) for k, v in r.headers.items() if k not in ("Date", "Server")]
                    return r.status, r.reason, headers, body

            direct = await asyncio.gather(*(one(legacy, i) for i in range(200)))
            proxied = await asyncio.gather(*(one(url, i) for i in range(200)))
        assert proxied == direct
        assert [h for h in proxied[0][2] if h[0] == "Set-Cookie"] == [
            ("Set-Cookie", "c0=v0; Path=/"),
            ("Set-Cookie", "c1=v1; Path=/"),
        ]
        run_id = await server.stop()
    # 200 direct + 200 proxied, plus the few A/A re-asks that learn noise ([noise] samples, GETs only).
    assert 400 < len(legacy_calls) <= 400 + NoiseConfig().samples
    assert len(cand_calls) == 200
    totals = server.metrics.totals
    assert (totals.seen, totals.mismatched) == (200, 200)
    assert totals.seen == totals.shadowed + totals.skipped + totals.dropped
    with Store.open(tmp_path / "s.db", create=False) as store:
        info = store.run(run_id)
        assert (info.status, info.total, info.mismatched) == ("complete", 200, 200)


async def test_httpx_and_curl_see_the_same_bytes(tmp_path: Path) -> None:
    async with (
        backend(counting(b'{"ok": true}', [], cookies=3)) as legacy,
        backend(counting(b'{"ok": true}', [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        url = f"http://127.0.0.1:{server.port}/x"
        async with httpx.AsyncClient() as client:
            a, b = await client.get(f"{legacy}/x"), await client.get(url)
        assert (a.status_code, a.headers.get_list("set-cookie"), a.content) == (
            b.status_code,
            b.headers.get_list("set-cookie"),
            b.content,
        )
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        outs = []
        for base in (legacy, f"http://127.0.0.1:{server.port}"):
            proc = await asyncio.create_subprocess_exec(
                "curl", "-s", "-i", "--noproxy", "*", f"{base}/x", stdout=subprocess.PIPE
            )
            out, _ = await proc.communicate()
            lines = out.split(b"\n")
            outs.append(b"\n".join(line for line in lines if not line.startswith((b"Date", b"Server"))))
        assert outs[0] == outs[1]
        assert outs[0].count(b"Set-Cookie") == 3


async def test_chunked_body_is_streamed_both_ways(tmp_path: Path) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def stream(request: web.Request) -> web.StreamResponse:
        received = 0
        async for part in request.content.iter_any():
            received += len(part)
        resp = web.StreamResponse(headers={"X-Received": str(received)})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(80):  # 5 MiB, beyond the shadow's copy limit
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def upload() -> object:
        for _ in range(40):
            yield chunk

    async with (
        backend(stream) as legacy,
        backend(stream) as candidate,
        live(config(legacy, candidate, allow_writes=True), tmp_path / "s.db") as server,
    ):
        async with (
            aiohttp.ClientSession() as client,
            client.post(f"http://127.0.0.1:{server.port}/up", data=upload()) as r,
        ):
            assert r.headers["Transfer-Encoding"] == "chunked"
            assert r.headers["X-Received"] == str(40 * len(chunk))
            assert await r.read() == chunk * 80
        await server.stop()
    assert server.metrics.totals.reasons == {"body too large to compare": 1}


async def test_legacy_down_is_502_and_candidate_not_asked(tmp_path: Path) -> None:
    calls: list[str] = []
    async with backend(counting(b"{}", calls)) as candidate:
        cfg = config("http://127.0.0.1:9", candidate)  # discard port: nothing listens
        async with live(cfg, tmp_path / "s.db") as server, httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{server.port}/a")
            assert r.status_code == 502
            assert len(r.content) < 100
            await server.stop()
    assert calls == []
    assert (server.metrics.totals.seen, server.metrics.totals.failed) == (1, 1)


async def test_writes_go_to_legacy_once_and_are_not_shadowed(tmp_path: Path) -> None:
    legacy_calls: list[str] = []
    cand_calls: list[str] = []
    async with (
        backend(counting(b"{}", legacy_calls)) as legacy,
        backend(counting(b"{}", cand_calls)) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
        httpx.AsyncClient() as client,
    ):
        r = await client.post(f"http://127.0.0.1:{server.port}/orders", json={"n": 1})
        assert r.status_code == 201
        await server.stop()
    assert legacy_calls == ["POST /orders 7"]
    assert cand_calls == []
    assert server.metrics.totals.skipped == 1


async def test_hanging_candidate_costs_the_client_nothing_and_drops_are_counted(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    async with (
        backend(counting(b"{}", [])) as legacy,
        backend(hang) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", queue=2, workers=1) as server,
        httpx.AsyncClient() as client,
    ):
        for i in range(10):
            r = await asyncio.wait_for(client.get(f"http://127.0.0.1:{server.port}/{i}"), 2)
            assert r.status_code == 201
        await server.stop(drain=0.1)
        release.set()
    t = server.metrics.totals
    assert t.seen == 10
    assert t.dropped == 10  # 1 in flight + 2 queued at shutdown, 7 over the queue
    assert t.seen == t.shadowed + t.skipped + t.dropped


def test_both_backends_at_one_url_is_refused(tmp_path: Path) -> None:
    cfg = config("http://127.0.0.1:5000/", "http://127.0.0.1:5000")
    with pytest.raises(ConfigError, match="same backend"):
        LiveServer(cfg, LiveOptions(mode="proxy", db=tmp_path / "s.db"))


async def test_a_100_mb_chunked_body_streams_through_at_flat_memory(tmp_path: Path) -> None:
    import tracemalloc

    chunk = b"x" * (64 * 1024)
    count = 1600  # 100 MiB each way

    async def sink_and_stream(request: web.Request) -> web.StreamResponse:
        received = 0
        async for part in request.content.iter_any():
            received += len(part)
        resp = web.StreamResponse(headers={"X-Received": str(received)})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(count):
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def upload() -> object:
        for _ in range(count):
            yield chunk

    async with (
        backend(sink_and_stream) as legacy,
        backend(counting(b"{}", [])) as candidate,
        live(config(legacy, candidate, allow_writes=True), tmp_path / "s.db") as server,
        aiohttp.ClientSession() as client,
    ):
        tracemalloc.start()
        try:
            received = 0
            async with client.post(f"http://127.0.0.1:{server.port}/big", data=upload()) as r:
                assert r.headers["X-Received"] == str(count * len(chunk))
                async for part in r.content.iter_any():
                    received += len(part)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await server.stop()
    assert received == count * len(chunk)
    # Both bodies are 100 MiB; streamed, the peak is the 1 MiB shadow copy plus buffers.
    assert peak < 16 * 1024 * 1024, peak
    assert server.metrics.totals.reasons == {"body too large to compare": 1}


async def test_record_writes_a_redacted_capture_that_replay_reads(tmp_path: Path) -> None:
    from paritycheck.capture import read

    out = tmp_path / "live.har"
    async with (
        backend(counting(b'{"id": 1}', [])) as legacy,
        backend(counting(b'{"id": 1}', [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", record=out) as server,
        httpx.AsyncClient() as client,
    ):
        for i in range(3):
            r = await client.get(
                f"http://127.0.0.1:{server.port}/items/{i}?page={i}&sort=-id&api_key=k3y",
                headers={"Authorization": "Bearer s3cret"},
            )
            assert r.status_code == 201
        run_id = await server.stop()
    exchanges = list(read(out))
    assert [e.request.path for e in exchanges] == ["/items/0", "/items/1", "/items/2"]
    # The query is kept (a recorded capture replays the same requests), its secrets redacted: one key,
    # one mark, the same in the capture and in the store (the run's redaction key).
    mark = exchanges[0].request.query.rpartition("=")[2]
    assert re.fullmatch(r"redacted-[0-9a-f]{8}", mark)
    assert [e.request.query for e in exchanges] == [f"page={i}&sort=-id&api_key={mark}" for i in range(3)]
    assert all(e.recorded is not None and e.recorded.status == 201 for e in exchanges)
    text = out.read_text(encoding="utf-8")
    assert "s3cret" not in text and "k3y" not in text
    with Store.open(tmp_path / "s.db", create=False) as store:  # stored URLs keep their query too
        urls = sorted(e.url for e in store.exchanges(run_id))
    assert urls == [f"/items/{i}?page={i}&sort=-id&api_key={mark}" for i in range(3)]


async def test_a_malformed_request_gets_400_and_reaches_no_backend(tmp_path: Path) -> None:
    calls: list[str] = []
    async with (
        backend(counting(b"{}", calls)) as legacy,
        backend(counting(b"{}", calls)) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await writer.wait_closed()
        assert status_line.split()[1:2] == [b"400"], status_line
        await server.stop()
    assert calls == []
