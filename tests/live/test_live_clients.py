"""Clients that misbehave or leave, and a legacy that breaks off: bounded, counted, never a traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from paritycheck.live.proxy import SKIP_CLIENT_GONE
from tests.live.livehelpers import backend, config, live
from tests.live.test_live_mirror import echo


async def _closed_within(port: int, payload: bytes, seconds: float) -> bool:
    """Send ``payload`` (maybe nothing) and wait for the proxy to close the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if payload:
            writer.write(payload)
            await writer.drain()
        data = await asyncio.wait_for(reader.read(), seconds)
        return data == b""
    except TimeoutError:
        return False
    finally:
        writer.close()


async def test_idle_and_slow_clients_are_closed_after_the_client_timeout(tmp_path: Path) -> None:
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", client_timeout=0.5) as server,
    ):
        assert await _closed_within(server.port, b"", 10)  # connected, never sent a byte
        assert await _closed_within(server.port, b"GET /items/1 HTTP/1.1\r\nHost: a\r\n", 10)  # stalled


async def test_expect_100_continue_reaches_the_legacy_once(tmp_path: Path) -> None:
    import shutil
    import subprocess

    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    calls: list[str] = []

    async def legacy_handler(request: web.Request) -> web.Response:
        calls.append((await request.read()).decode())
        return web.json_response({"ok": True})

    async with (
        backend(legacy_handler) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        proc = await asyncio.create_subprocess_exec(
            curl, "-sS", "-H", "Expect: 100-continue", "--data-binary", "x" * 2048,
            f"http://127.0.0.1:{server.port}/upload", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert out == b'{"ok": true}' and calls == ["x" * 2048]


async def test_a_client_that_leaves_is_counted_and_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)  # the client is gone by then
        return web.json_response({"ok": True})

    caplog.set_level(logging.ERROR)
    async with (
        backend(slow) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\n")
        await writer.drain()
        writer.close()
        await asyncio.sleep(1.0)
    totals = server.metrics.totals
    assert totals.seen == totals.shadowed + totals.skipped + totals.dropped == 1
    assert totals.reasons.get(SKIP_CLIENT_GONE) == 1, totals.reasons
    assert not [r for r in caplog.records if "Error handling request" in r.getMessage()]


async def test_a_legacy_that_breaks_off_mid_answer_cuts_the_client_and_fails_the_exchange(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        assert request.transport is not None
        request.transport.close()  # 990 bytes short
        return resp

    caplog.set_level(logging.ERROR)
    async with (
        backend(broken) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\n")
        await writer.drain()
        got = await asyncio.wait_for(reader.read(), 10)  # until the proxy closes
        writer.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) < 1000  # cut, never passed off as complete
    totals = server.metrics.totals
    assert totals.seen == totals.failed == 1
    assert not [r for r in caplog.records if "Error handling request" in r.getMessage()]
