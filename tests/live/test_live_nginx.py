"""Integration: Debian's nginx serves the legacy sample and mirrors each request to ``paritycheck mirror``,
with the server block that deploy/nginx-mirror.yaml ships."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from paritycheck.samples import running
from paritycheck.samples.record import Session, play
from paritycheck.store import Store
from tests.live.livehelpers import config, live

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")

ROOT = Path(__file__).resolve().parents[2]

#: The http block around deploy/nginx-mirror.yaml's server block (what nginx's own nginx.conf has).
HTTP = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{server}
}}
"""


def nginx_conf(directory: Path, *, port: int, legacy: str, mirror: str) -> str:
    """The shipped snippet with this test's addresses in place of the cluster's service names."""
    snippet = yaml.safe_load((ROOT / "deploy" / "nginx-mirror.yaml").read_text(encoding="utf-8"))
    server = snippet["data"]["paritycheck-mirror.conf"]
    for old, new in (
        ("server api-legacy:8080;", f"server {urlsplit(legacy).netloc};"),
        ("server paritycheck-mirror:8081;", f"server {urlsplit(mirror).netloc};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
    ):
        assert old in server, f"deploy/nginx-mirror.yaml no longer has {old!r}"
        server = server.replace(old, new)
    return HTTP.format(dir=directory, server=server)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_nginx_mirror_feeds_the_sink_and_every_copy_is_accounted(tmp_path: Path) -> None:
    assert NGINX is not None
    async with running(summary_delay=0) as samples:
        cfg = config(samples.legacy_url, samples.candidate_url)
        async with live(cfg, tmp_path / "s.db", mode="mirror") as server:
            port = free_port()
            conf = tmp_path / "nginx.conf"
            conf.write_text(
                nginx_conf(
                    tmp_path, port=port, legacy=samples.legacy_url, mirror=f"http://127.0.0.1:{server.port}"
                ),
                encoding="utf-8",
            )
            nginx = await asyncio.create_subprocess_exec(
                NGINX, "-c", str(conf), "-p", str(tmp_path), stderr=asyncio.subprocess.PIPE
            )
            try:
                url = f"http://127.0.0.1:{port}"
                async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                    for _ in range(100):  # until nginx listens
                        try:
                            await client.get("/api/v1/health")
                            break
                        except httpx.TransportError:
                            await asyncio.sleep(0.05)
                    session = Session(client, real_netloc=urlsplit(url).netloc, recorded_netloc="api")
                    await play(session, projects=False)
                sent = len(session.entries) + 1  # the health probe that found nginx up
                for _ in range(200):
                    if server.metrics.totals.seen >= sent:
                        break
                    await asyncio.sleep(0.05)
            finally:
                nginx.terminate()
                _, err = await nginx.communicate()
            await server.stop()
    totals = server.metrics.totals
    assert totals.seen == sent, err.decode()
    assert totals.seen == totals.shadowed + totals.skipped + totals.dropped
    assert totals.skipped == 2  # the session's two logins: writes are not replayed
    with Store.open(tmp_path / "s.db", create=False) as store:
        (run_id,) = server.closed
        found = {(e.endpoint, d.kind, d.path) for e in store.exchanges(run_id) for d in e.differences}
    # Seeded differences of docs/demo.md: tag order and the renamed/absent fields.
    assert ("GET /api/v1/kpis/{id}/tags", "order", "$.tags") in found or any(
        p == "$.tags" for _, _, p in found
    )
