"""Serving the two demo backends: :func:`start` runs both on loopback in the current event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from paritycheck.errors import ConfigError
from paritycheck.samples import candidate, data, legacy
from paritycheck.samples.candidate import Sleep

if TYPE_CHECKING:
    from paritycheck.config import Config

__all__ = ["Samples", "configured_urls", "running", "serve_app", "start"]


@dataclass(frozen=True, slots=True)
class Samples:
    """Both demo backends, listening."""

    runners: tuple[web.AppRunner, web.AppRunner]
    legacy_url: str
    candidate_url: str

    async def close(self) -> None:
        """Stop both servers and release their sockets."""
        for runner in self.runners:
            await runner.cleanup()

    def config(self, base: Config) -> Config:
        """``base`` with its legacy and candidate backends at these two (their other settings kept)."""
        backends = dataclasses.replace(
            base.backends,
            legacy=dataclasses.replace(base.backends.legacy, url=self.legacy_url),
            candidate=dataclasses.replace(base.backends.candidate, url=self.candidate_url),
        )
        return dataclasses.replace(base, backends=backends)


async def serve_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on ``host:port`` (0: a free port); return the runner and the real base URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    address = runner.addresses[0]
    real_host, real_port = address[0], address[1]
    shown = f"[{real_host}]" if ":" in real_host else real_host
    return runner, f"http://{shown}:{real_port}"


async def start(
    host: str = "127.0.0.1",
    legacy_port: int = 0,
    candidate_port: int = 0,
    *,
    summary_delay: float = data.SUMMARY_DELAY_S,
    sleep: Sleep = asyncio.sleep,
    strict_auth: bool = False,
) -> Samples:
    """Start the legacy and candidate samples; port 0 picks a free port (the URLs give the real ones)."""
    legacy_runner, legacy_url = await serve_app(legacy.make_app(strict_auth=strict_auth), host, legacy_port)
    try:
        app = candidate.make_app(strict_auth=strict_auth, summary_delay=summary_delay, sleep=sleep)
        candidate_runner, candidate_url = await serve_app(app, host, candidate_port)
    except BaseException:
        await legacy_runner.cleanup()
        raise
    return Samples((legacy_runner, candidate_runner), legacy_url, candidate_url)


@asynccontextmanager
async def running(
    host: str = "127.0.0.1",
    legacy_port: int = 0,
    candidate_port: int = 0,
    *,
    summary_delay: float = data.SUMMARY_DELAY_S,
    sleep: Sleep = asyncio.sleep,
    strict_auth: bool = False,
) -> AsyncIterator[Samples]:
    """:func:`start` as a context manager that always closes the servers."""
    samples = await start(
        host, legacy_port, candidate_port, summary_delay=summary_delay, sleep=sleep, strict_auth=strict_auth
    )
    try:
        yield samples
    finally:
        await samples.close()


DEFAULT_LEGACY_URL = "http://127.0.0.1:5000"
DEFAULT_CANDIDATE_URL = "http://127.0.0.1:8000"


def configured_urls(config: Path = Path("paritycheck.toml")) -> tuple[str, str]:
    """The legacy and candidate base URLs named in ``config`` (the demo defaults when it has none).

    Read with tomllib rather than :mod:`paritycheck.config` so the demo needs only the two URLs to be
    right, not the whole file to be valid.
    """
    urls = [DEFAULT_LEGACY_URL, DEFAULT_CANDIDATE_URL]
    if not config.is_file():
        return urls[0], urls[1]
    try:
        with config.open("rb") as fh:
            backends = tomllib.load(fh).get("backends", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{config}: cannot read the backend URLs: {exc}", hint=f"fix {config}") from None
    for i, side in enumerate(("legacy", "candidate")):
        value = backends.get(side) if isinstance(backends, dict) else None
        url = value.get("url") if isinstance(value, dict) else value
        if isinstance(url, str) and url:
            urls[i] = url
    return urls[0], urls[1]
