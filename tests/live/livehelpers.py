"""Backends on loopback and a running live listener, all in the test's event loop."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from paritycheck.config import Backend, Backends, Config, ReplayConfig
from paritycheck.live import LiveOptions, LiveServer
from paritycheck.samples import serve_app


async def listener_process(
    mode: str, legacy: str, candidate: str, *extra: str, db: object, cwd: Path, startup: float = 30
) -> tuple[asyncio.subprocess.Process, int]:
    """``paritycheck proxy|mirror`` as a real process on a free port (stderr piped); it and its port,
    once it says it listens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paritycheck", mode, "--listen", "127.0.0.1:0",
        "--legacy", legacy, "--candidate", candidate, "--db", str(db), "--no-report", *extra,
        cwd=cwd, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), startup)).decode()
    port = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    assert port, line
    return proc, int(port[1])


@asynccontextmanager
async def backend(
    handler: web.Handler | None = None, app: web.Application | None = None
) -> AsyncIterator[str]:
    """Serve a catch-all handler (or an app) on 127.0.0.1; yield its base URL."""
    if app is None:
        app = web.Application(client_max_size=0)
        assert handler is not None
        app.router.add_route("*", "/{tail:.*}", handler)
    runner, url = await serve_app(app, "127.0.0.1", 0)
    try:
        yield url
    finally:
        await runner.cleanup()


def config(legacy: str, candidate: str, *, allow_writes: bool = False, timeout: float = 5.0) -> Config:
    return Config(
        backends=Backends(legacy=Backend(url=legacy), candidate=Backend(url=candidate)),
        replay=ReplayConfig(allow_writes=allow_writes, timeout=timeout),
    )


@asynccontextmanager
async def live(cfg: Config, db: Path, mode: str = "proxy", **options: object) -> AsyncIterator[LiveServer]:
    """A started listener on a free port; stopped (drained, window closed) on exit."""
    opts = LiveOptions(mode=mode, listen="127.0.0.1:0", db=db, **options)  # type: ignore[arg-type]
    server = LiveServer(cfg, opts)
    await server.start()
    try:
        yield server
    finally:
        if not server.stopped:
            await server.stop()
