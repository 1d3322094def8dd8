"""No secret of issue 23 leaks from the live modes: not into the store, the windows' HTML, ``--record``,
``/status`` or ``/metrics``; and a request target with a user name in it neither crashes nor leaks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from paritycheck.report import write_reports
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, live
from tests.secretcase import SECRETS, echo_app, files_text, leaks, targets

ABSOLUTE = f"GET http://{SECRETS['absolute-form user']}@prod.test/api/abs HTTP/1.1\r\nHost: prod.test\r\n\r\n"


async def _absolute_form(port: int) -> bytes:
    """One request whose target is absolute-form with a user name, as a client may send a proxy."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(ABSOLUTE.encode())
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("mode", ["proxy", "mirror"])
async def test_no_secret_leaks_from_a_live_listener(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "live.db"
    requests = targets()
    async with (
        backend(app=echo_app("legacy")) as legacy,
        backend(app=echo_app("candidate")) as candidate,
        live(
            config(legacy, candidate, allow_writes=True), db, mode=mode, admin="127.0.0.1:0",
            record=tmp_path / "recorded.har", html=tmp_path / "window.html", window_exchanges=4,
        ) as server,
        httpx.AsyncClient() as client,
    ):  # fmt: skip
        url = f"http://127.0.0.1:{server.port}"
        head = await _absolute_form(server.port)
        assert head.startswith(b"HTTP/1.1 ")
        for method, target, headers, body, content_type in requests:
            more = {"Content-Type": content_type} if content_type else {}
            reply = await client.request(
                method, url + target, headers={**dict(headers), **more}, content=body
            )
            assert reply.status_code in (200, 302), reply.text
        for _ in range(200):  # the helper pushes its counts every 0.1 s
            if server.metrics.totals.seen == len(requests) + 1:
                break
            await asyncio.sleep(0.05)
        admin = f"http://127.0.0.1:{server.admin_port}"
        status = (await client.get(f"{admin}/status")).text
        metrics = (await client.get(f"{admin}/metrics")).text
        await server.stop()
    # Every request is accounted for, and the user name crashed nothing: windows closed and rendered.
    totals = server.metrics.totals
    assert totals.seen == len(requests) + 1 == totals.shadowed + totals.skipped + totals.dropped
    assert len(server.closed) >= 2 and (tmp_path / "window.html").exists()
    with Store.open(db, create=False) as store:
        written = write_reports(
            store, server.closed[0], html_path=tmp_path / "r.html", markdown_path=tmp_path / "r.md",
            junit_path=tmp_path / "r.xml", max_examples=5,
        )  # fmt: skip
        endpoints = {x.endpoint for run_id in server.closed for x in store.exchanges(run_id)}
    assert len(written) == 3
    assert "GET /api/share/{id}/view" in endpoints and "GET /api/abs" in endpoints
    texts = {**files_text(tmp_path), "/status": status, "/metrics": metrics}
    assert {"recorded.har", "live.db (values)"} <= set(texts)
    assert leaks(texts) == {}
