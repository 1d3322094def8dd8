"""The live demo: the sample backends behind ``paritycheck proxy``, driven by the recorded front end.

The same scripted session that recorded ``captures/auth.har`` runs through the inline proxy, so the
first (and only) window is a run to set beside the recorded demo's: same seeded differences.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from paritycheck.config import Config, load
from paritycheck.live import LiveOptions, LiveServer
from paritycheck.samples import data, running
from paritycheck.samples.record import Session, play


async def demo_live(
    *,
    host: str = "127.0.0.1",
    db: Path = Path("reports/paritycheck.db"),
    html: Path | None = Path("reports/index.html"),
    config: Config | None = None,
    summary_delay: float = data.SUMMARY_DELAY_S,
) -> LiveServer:
    """Start both samples and a proxy before the legacy, play the session through it, stop; return it.

    The whole session is played, writes shadowed: the two samples were just started for this and are
    stopped after (as ``make demo`` replays with ``--allow-writes``), and live sessions give the
    candidate its own token, ids and slugs (docs/live.md).
    """
    base = config if config is not None else load(None)
    async with running(host, summary_delay=summary_delay) as samples:
        cfg = samples.config(base)
        cfg = dataclasses.replace(cfg, replay=dataclasses.replace(cfg.replay, allow_writes=True))
        options = LiveOptions(mode="proxy", listen=f"{host}:0", db=db, html=html, window_seconds=0)
        server = LiveServer(cfg, options)
        await server.start()
        try:
            url = f"http://{host}:{server.port}"
            print(f"legacy on {samples.legacy_url}, candidate on {samples.candidate_url}, proxy on {url}")
            async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
                netloc = urlsplit(url).netloc
                await play(Session(client, real_netloc=netloc, recorded_netloc=netloc))
        finally:
            await server.stop()
    return server
