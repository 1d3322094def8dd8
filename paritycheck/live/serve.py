"""Run a live listener (proxy or mirror) with its shadow path, windows and admin listener.

:class:`LiveServer` is the library object that tests start and stop directly; :func:`serve` runs one
until SIGTERM (drain for ``drain`` seconds) or SIGINT (drain for a tenth of that), then closes the open
window as a complete run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from paritycheck.capture import CaptureWriter
from paritycheck.common.urls import shown_url
from paritycheck.config import Config
from paritycheck.errors import ConfigError
from paritycheck.live.handoff import ShadowHelper, ShadowTarget, totals_from
from paritycheck.live.metrics import Metrics
from paritycheck.live.sampling import RateLimit, Sampler
from paritycheck.live.sessions import LiveSessions, enabled
from paritycheck.live.shadow import Shadow
from paritycheck.live.window import Windows
from paritycheck.live.yielding import LagGuard
from paritycheck.noise import NoiseLearner
from paritycheck.replay import Engine, make_transport
from paritycheck.run import check_backends, config_record, open_recording, redacted_backends
from paritycheck.store import RunInfo, Store

if TYPE_CHECKING:
    from aiohttp import web

    from paritycheck.live.proxy import Proxy

# aiohttp (web, its client and its TLS context: ~0.2 s) is imported where a listener or an admin port
# starts: a live helper without --admin only shadows, and starts without it.

#: Seconds of ``--drain`` kept for closing the window (store, noise, report) once requests and shadows
#: have had theirs (at most a quarter of ``--drain``); the window then closes ~0.7 s after, measured.
CLOSE_RESERVE = 1.0


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How a live listener runs (the CLI's options)."""

    mode: str  # "proxy" or "mirror"
    listen: str = "127.0.0.1:8080"
    db: Path = Path("paritycheck.db")
    admin: str | None = None
    queue: int = 1000
    workers: int = 16
    sample: float = 100.0
    sample_key: str | None = None
    max_rps: float = 0.0
    window_seconds: float = 900.0
    window_exchanges: int = 0
    html: Path | None = None
    drain: float = 10.0
    #: Slow or idle client connections are closed after this many seconds without progress.
    client_timeout: float = 30.0
    max_body: int = 1024 * 1024
    #: Store outcomes from a helper process (store/child.py): off the event loop that serves clients.
    store_in_child: bool = True
    #: Shadows pause while the event loop lags more than this (s), so the queue drops instead (0: off).
    #: Only with ``shadow_in_child=False``: a helper process's loop serves no client.
    max_lag: float = 0.002
    #: ``--record FILE.har|.jsonl``: write the live exchanges as a capture, redacted unless ``record_raw``.
    record: Path | None = None
    record_raw: bool = False
    #: Run the shadow side (candidate, compare, store, /metrics) in a helper process (live/handoff.py), so
    #: the client path's event loop only forwards and hands off; False runs it all on one loop.
    shadow_in_child: bool = True


def host_port(value: str, *, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (port 0: any free port); anything else is a config error naming the option."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{option} {value!r} is not HOST:PORT", hint=f"use e.g. {option} 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def check_distinct(config: Config) -> None:
    """Both backends at one URL would compare the legacy with itself and shadow writes into it."""
    legacy, candidate = config.backends.legacy.url, config.backends.candidate.url
    if legacy and candidate:
        a, b = urlsplit(legacy), urlsplit(candidate)
        if (a.scheme, a.hostname, a.port or a.scheme, a.path.rstrip("/")) == (
            b.scheme,
            b.hostname,
            b.port or b.scheme,
            b.path.rstrip("/"),
        ):
            raise ConfigError(
                f"legacy and candidate are the same backend ({shown_url(legacy)})",
                hint="point [backends] candidate (or --candidate) at the new service",
            )


class _Handlers:
    """The listener's handlers in flight (a middleware counts them in and out), and the requests no
    route matches (``OPTIONS *``), given to the listener to refuse with its own reason, not a 404."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener
        self.running: set[asyncio.Task[Any]] = set()

    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        try:
            return await (handler if request.raw_path.startswith("/") else self.listener)(request)  # type: ignore[no-any-return]
        finally:
            self.running.discard(task)

    middleware.__middleware_version__ = 1  # type: ignore[attr-defined]  # what @web.middleware sets

    async def settle(self, timeout: float) -> None:  # noqa: ASYNC109 - bounded on purpose
        """Give the handlers in flight ``timeout`` seconds, then cancel them (each counts itself as
        dropped) and give them a moment to do so. aiohttp's own shutdown waits its timeout twice (to
        finish, then to end cancelled) and held a stuck request for 61 s past ``--drain``."""
        if self.running:
            await asyncio.wait(set(self.running), timeout=timeout)
        stuck = set(self.running)
        for task in stuck:
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=1.0)


class LiveServer:
    """One live listener: start, read its counters, stop (drain and close the window)."""

    def __init__(self, config: Config, options: LiveOptions) -> None:
        if options.mode not in ("proxy", "mirror"):
            raise ValueError("mode must be proxy or mirror")
        check_backends(config)
        check_distinct(config)
        self.config = config
        self.options = options
        self.listen = host_port(options.listen, option="--listen")
        self.admin_at = host_port(options.admin, option="--admin") if options.admin else None
        self.sampler = Sampler(options.sample, key=options.sample_key)
        self.metrics = Metrics()
        self._config_record = config_record(config)
        self.windows: Windows | None = None
        self.shadow: Shadow | None = None
        self.proxy: Proxy | None = None
        self._runners: list[web.AppRunner] = []
        self._client: web.AppRunner | None = None
        self.helper: ShadowHelper | None = None
        self.stopped = False
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0
        self.admin_port = 0
        self.recording: CaptureWriter | None = None
        self.sessions: LiveSessions | None = None

    async def start(self) -> None:
        """Start the shadow side (a helper process unless ``shadow_in_child`` is off), then the listener."""
        from aiohttp import web

        from paritycheck.live.mirror import Mirror
        from paritycheck.live.proxy import Proxy
        from paritycheck.live.refusals import RefusalLog

        cfg, opts = self.config, self.options
        target: ShadowTarget
        if opts.shadow_in_child:
            self.helper = await ShadowHelper.spawn(cfg, opts, on_status=self._on_status)
            self.admin_port = self.helper.admin_port
            target = self.helper
            record = self.helper.record if opts.record is not None else None
        else:
            await self.start_shadow()
            assert self.shadow is not None
            target = self.shadow
            record = self.recording.write if self.recording is not None else None
        if opts.mode == "proxy":
            self.proxy = Proxy(
                cfg.backends.legacy.url,
                target,
                timeout=cfg.replay.timeout,
                max_body=opts.max_body,
                record=record,
                client_timeout=opts.client_timeout,
            )
            await self.proxy.start()
            handler = self.proxy.handle
        else:
            mirror = Mirror(target, max_body=opts.max_body, record=record, client_timeout=opts.client_timeout)
            handler = mirror.handle
        self._handlers = _Handlers(handler)
        app = web.Application(client_max_size=0, middlewares=[self._handlers.middleware])
        app.router.add_route("*", "/{tail:.*}", handler)
        if self.proxy is not None:  # open WebSockets are closed (1001) when the listener stops
            app.on_shutdown.append(self.proxy.on_shutdown)
        # A request aiohttp cannot parse is one line (rate-limited) and a count, not a traceback.
        self.refusals = RefusalLog("paritycheck.live.listener", on_malformed=target.malformed)
        try:
            self._client, self.port = await self._serve(app, self.listen, logger=self.refusals)
        except BaseException:  # --listen taken: stop what was started, then report it
            await self.stop(drain=0)
            raise

    def _on_status(self, status: dict[str, Any]) -> None:
        self.metrics.totals = totals_from(status)

    async def start_shadow(self) -> None:
        """Open the store, start the shadow workers, ``--record`` and the admin listener (no client path)."""
        cfg, opts = self.config, self.options
        backends = redacted_backends(cfg)
        self.sessions = await self._sessions()
        self.windows = Windows(
            opts.db,
            source=f"live {opts.mode} {opts.listen}",
            config={**self._config_record, "live": {"mode": opts.mode, "sample": opts.sample}},
            backends=backends,
            exchanges=opts.window_exchanges,
            seconds=opts.window_seconds,
            html=opts.html,
            noise=lambda: NoiseLearner(cfg.noise, allow_writes=False),
            store_in_child=opts.store_in_child,
            on_close=self._window_closed,
            fixed=lambda: frozenset(self.shadow.matcher.fixed) if self.shadow is not None else frozenset(),
        )
        engine = self.sessions.engine if self.sessions is not None else self._engine()
        self.shadow = Shadow(
            cfg,
            engine,
            self.windows.add,
            metrics=self.metrics,
            queue=opts.queue,
            workers=opts.workers,
            sampler=self.sampler,
            rate=RateLimit(opts.max_rps),
            noise=lambda: self.windows.noise if self.windows is not None else None,
            guard=LagGuard(limit=opts.max_lag) if opts.max_lag > 0 else None,
            sessions=self.sessions,
        )
        if opts.record is not None:
            self.recording = open_recording(opts.record, redact=not opts.record_raw, flush_every=100)
        if self.admin_at is not None:
            from aiohttp import web

            from paritycheck.live.refusals import RefusalLog

            admin = web.Application()
            admin.router.add_get("/metrics", self._metrics)
            admin.router.add_get("/status", self._status)
            # /rollout/verdict and Flagger's webhooks, judged again whenever a window closes (imported here:
            # the rollout judge and the gate cost a helper without --admin ~0.1 s at each start)
            from paritycheck.live import rollout_admin

            rollout_admin.register(admin, cfg, opts.db, state=lambda: len(self.closed))
            # A malformed request to the admin port is a line too, but not one of the listener's.
            quiet = RefusalLog("paritycheck.live.admin", on_malformed=lambda reason: None)
            runner, self.admin_port = await self._serve(admin, self.admin_at, logger=quiet)
            self._runners.append(runner)
        self._ticker = asyncio.ensure_future(self._tick())

    def _window_closed(self, run_id: int, summary: Any) -> None:
        """A closed window's run records the live sessions as a replay run does (``meta.sessions``)."""
        if self.sessions is not None and self.windows is not None:
            self.windows.store.update_meta(run_id, {"sessions": self.sessions.status()})

    def _engine(self) -> Engine:
        cfg = self.config
        self.transport = make_transport(
            cfg.replay.client, concurrency=max(self.options.workers, 1) * 2, max_body=cfg.replay.max_body
        )
        return Engine(
            legacy=cfg.backends.legacy,
            candidate=cfg.backends.candidate,
            transport=self.transport,
            timeout=cfg.replay.timeout,
        )

    async def _sessions(self) -> LiveSessions | None:
        """Live sessions (docs/live.md#sessions), logged in with ``[auth]`` before any window opens:
        a backend that refuses the login stops the start (exit 3) with nothing stored."""
        if not enabled(self.config):
            return None
        engine = self._engine()
        try:
            sessions = LiveSessions(self.config, engine, mode=self.options.mode)
            await sessions.start()
        except BaseException:
            await self.transport.aclose()
            raise
        return sessions

    async def _serve(
        self, app: web.Application, at: tuple[str, int], **kwargs: Any
    ) -> tuple[web.AppRunner, int]:
        from aiohttp import web

        runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self.options.client_timeout,
            handle_signals=False,
            # The handlers were given their time before (_Handlers.settle): what is left is idle.
            shutdown_timeout=0.1,
            **kwargs,
        )
        await runner.setup()
        site = web.TCPSite(runner, at[0], at[1], backlog=1024)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner, int(runner.addresses[-1][1])

    async def _tick(self) -> None:
        assert self.windows is not None
        while True:
            await asyncio.sleep(0.5)
            if self.windows.due(time.time()):
                self.windows.turn()

    def status(self) -> dict[str, Any]:
        """The counters since start and the open window's summary, as /status serves them."""
        if self.helper is not None:  # the helper's, as last pushed (the admin listener serves it live)
            return self.helper.status or {"mode": self.options.mode, "totals": self.metrics.totals.as_dict()}
        windows, shadow = self.windows, self.shadow
        current: dict[str, Any] = {}
        if windows is not None:
            s = windows.summary
            current = {
                "run": windows.run_id,
                "total": s.total,
                "matched": s.matched,
                "mismatched": s.mismatched,
                "failed": s.failed,
                "skipped": s.skipped,
            }
        return {
            "mode": self.options.mode,
            "totals": self.metrics.totals.as_dict(),
            "queue": shadow.queue.qsize() if shadow is not None else 0,
            "window": current,
            "closed_runs": list(windows.closed) if windows is not None else [],
            "sessions": self.sessions.status() if self.sessions is not None else None,
        }

    async def _metrics(self, request: web.Request) -> web.Response:
        from aiohttp import web

        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _status(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self.status(), dumps=lambda v: json.dumps(v, indent=2))

    @property
    def closed(self) -> list[int]:
        """The ids of the windows closed so far (runs in the store)."""
        if self.helper is not None:
            return list(self.helper.status.get("closed_runs", []))
        return list(self.windows.closed) if self.windows is not None else []

    def closed_runs(self) -> list[RunInfo]:
        """The closed windows' runs as reports read them (their learned noise classed), from the store."""
        ids = self.closed
        if not ids:
            return []
        with Store.open(self.options.db, create=False) as store:
            return [store.run(run_id) for run_id in ids]

    async def stop(self, *, drain: float | None = None) -> int | None:
        """Stop accepting, drain the shadow queue (bounded), close the window; return its run id.

        ``drain`` bounds the whole stop: requests in flight get up to ``drain`` seconds less
        :data:`CLOSE_RESERVE` (then they are cancelled and counted as dropped), the shadow queue what
        is left of that by then, and closing the window the reserve.
        """
        drain = self.options.drain if drain is None else drain
        deadline = time.monotonic() + drain - min(CLOSE_RESERVE, drain / 4)
        self.stopped = True
        if self._client is not None:  # the client listener first: no new connections from now on
            for site in list(self._client.sites):
                await site.stop()
            if self.proxy is not None:  # open WebSockets end now (1001), not when the drain is spent
                await self.proxy.websockets.close_all()
            await self._handlers.settle(max(0.0, deadline - time.monotonic()))
            await self._client.cleanup()
            self._client = None
        if self.proxy is not None:
            await self.proxy.close()
        left = max(0.0, deadline - time.monotonic())
        if self.helper is not None:
            await self.helper.stop(left)
            return self.helper.run_id
        return await self.stop_shadow(drain=left)

    async def stop_shadow(self, *, drain: float) -> int | None:
        """Drain the shadow queue (bounded), stop the admin listener, close the window; return its run id."""
        if self.shadow is not None:
            await self.shadow.drain(drain)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self.shadow is not None:
            await self.transport.aclose()
        if self.recording is not None:
            self.recording.close()
        return self.windows.close() if self.windows is not None else None


async def serve(config: Config, options: LiveOptions, *, ready: Any = None) -> LiveServer:
    """Run a listener until SIGTERM or SIGINT; return it, stopped, with every window closed."""
    server = LiveServer(config, options)
    await server.start()
    if ready is not None:
        ready(server)
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[float] = loop.create_future()

    def on_signal(drain: float) -> None:
        if not stop.done():
            stop.set_result(drain)

    loop.add_signal_handler(signal.SIGTERM, on_signal, options.drain)
    loop.add_signal_handler(signal.SIGINT, on_signal, options.drain / 10)
    try:
        drain = await stop
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.remove_signal_handler(signal.SIGINT)
    await server.stop(drain=drain)
    return server
