"""Loopback test servers (127.0.0.1, ephemeral ports) and pytest fixtures, for everyone's tests.

Each server runs in a background thread with its own event loop, so it works the same from async tests
(pytest-asyncio function-scoped loops) and from sync tests whose code calls ``asyncio.run`` itself.

- :func:`serve` runs an ``aiohttp.web.Application``, a single handler ``async (web.Request) -> Response``
  or a :class:`Raw` connection callback, and yields its base URL.
- :class:`JsonServer` is a well-behaved JSON API with configurable routes that records what it received
  and the most requests it ever had in flight at once.
- The fault servers (refused, reset, hang, garbage, huge, binary, closes mid-body) are session fixtures.

Use the fixtures from a test module with ``from tests.servers import json_server, reset_url  # noqa: F401``
or register this module as a plugin (``pytest_plugins = ["tests.servers"]`` in conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

HOST = "127.0.0.1"
#: Default size of the huge body: one MiB more than the transport's default max_body (32 MiB).
HUGE_SIZE = 33 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Raw:
    """A raw TCP connection callback, for servers that do not speak proper HTTP."""

    callback: RawCallback


class _Thread:
    """An event loop in a daemon thread; coroutines are submitted to it from the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server", daemon=True)
        self.thread.start()

    def call(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        # Handlers still waiting (a hanging backend, a client gone) end cancelled before the loop closes:
        # destroyed pending tasks were printed at the end of the run.
        with contextlib.suppress(Exception):
            self.call(_cancel_the_rest(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _cancel_the_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)


async def _start_app(app: web.Application, tls: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    # A short shutdown_timeout: a handler that hangs must not delay the end of a test by a minute.
    runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, ssl_context=tls)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    return runner, server.sockets[0].getsockname()[1]


async def _start_raw(callback: RawCallback) -> tuple[asyncio.Server, set[asyncio.StreamWriter], int]:
    writers: set[asyncio.StreamWriter] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            await callback(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # The client went away (expected when testing failures) or the server is stopping; ending
            # normally also avoids a Python 3.11 asyncio callback that logs cancelled connection tasks.
            pass
        finally:
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(on_connect, HOST, 0)
    return server, writers, server.sockets[0].getsockname()[1]


async def _stop_raw(server: asyncio.Server, writers: set[asyncio.StreamWriter]) -> None:
    server.close()
    for writer in list(writers):
        writer.transport.abort()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()


@contextmanager
def serve(
    app_or_handler: web.Application | Handler | Raw, *, tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """Serve an aiohttp app, a catch-all handler or a raw callback on 127.0.0.1; yield its base URL
    (``https://localhost:PORT`` with ``tls``, a server context whose certificate names localhost)."""
    thread = _Thread()
    try:
        if isinstance(app_or_handler, Raw):
            server, writers, port = thread.call(_start_raw(app_or_handler.callback))
            try:
                yield f"http://{HOST}:{port}"
            finally:
                thread.call(_stop_raw(server, writers))
        else:
            app = app_or_handler
            if not isinstance(app, web.Application):
                app = web.Application()
                app.router.add_route("*", "/{tail:.*}", app_or_handler)  # type: ignore[arg-type]
            runner, port = thread.call(_start_app(app, tls))
            try:
                yield f"https://localhost:{port}" if tls is not None else f"http://{HOST}:{port}"
            finally:
                thread.call(runner.cleanup())
    finally:
        thread.stop()


# --- a well-behaved JSON server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    #: Path and query exactly as sent on the wire (still percent-encoded).
    target: str = ""


@dataclass
class JsonServer:
    """A JSON API: ``routes`` map a path to JSON data or to a handler; other paths echo the request.

    The echo is ``{"method", "path", "query", "headers": {lower-case name: [values]}, "body"}``.
    ``delay`` makes every answer wait, so that concurrency can be observed in ``max_in_flight``.
    """

    routes: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.requests]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        seen = Seen(
            request.method,
            request.path,
            request.query_string,
            tuple((k.lower(), v) for k, v in request.headers.items()),
            body,
            request.raw_path,
        )
        self.requests.append(seen)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            route = self.routes.get(request.path)
            if callable(route):
                response: web.StreamResponse = await route(request)
                return response
            if route is not None:
                return web.json_response(route)
            echoed: dict[str, list[str]] = {}
            for name, value in seen.headers:
                echoed.setdefault(name, []).append(value)
            data = {
                "method": seen.method,
                "path": seen.path,
                "query": seen.query,
                "headers": echoed,
                "body": body.decode("utf-8", "replace"),
            }
            return web.json_response(data)
        finally:
            self.in_flight -= 1


@contextmanager
def json_serve(routes: Mapping[str, Any] | None = None, *, delay: float = 0.0) -> Iterator[JsonServer]:
    """Start a :class:`JsonServer`; its ``url`` is set while the block runs."""
    server = JsonServer(routes=dict(routes or {}), delay=delay)
    with serve(server.handle) as url:
        server.url = url
        yield server


# --- misbehaving servers --------------------------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_head(reader)
    sock = writer.get_extra_info("socket")
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_head(reader)
    await asyncio.sleep(3600)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_head(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
    await writer.drain()


def huge_callback(size: int = HUGE_SIZE, *, chunked: bool = False) -> RawCallback:
    """Answer every request with ``size`` bytes (declared with Content-Length unless ``chunked``)."""

    async def callback(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_head(reader)
        length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + length + b"\r\n\r\n")
        block = b"x" * 65536
        left = size
        while left > 0:
            part = block[: min(left, len(block))]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            left -= len(part)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    return callback


def png_bytes() -> bytes:
    """A valid 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def _binary(request: web.Request) -> web.StreamResponse:
    return web.Response(body=png_bytes(), content_type="image/png")


async def _mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    writer.write(b'{"partial": "' + b"a" * 100)
    await writer.drain()


@contextmanager
def refused() -> Iterator[str]:
    """A base URL on which nothing listens: the port is bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield f"http://{HOST}:{sock.getsockname()[1]}"


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def json_server() -> Iterator[JsonServer]:
    """A fresh echoing :class:`JsonServer` per test (add routes with ``json_server.routes[...] = ...``)."""
    server = JsonServer(routes={})
    with serve(server.handle) as url:
        server.url = url
        yield server


@pytest.fixture(scope="session")
def refused_url() -> Iterator[str]:
    with refused() as url:
        yield url


@pytest.fixture(scope="session")
def reset_url() -> Iterator[str]:
    with serve(Raw(_reset)) as url:
        yield url


@pytest.fixture(scope="session")
def hang_url() -> Iterator[str]:
    with serve(Raw(_hang)) as url:
        yield url


@pytest.fixture(scope="session")
def garbage_url() -> Iterator[str]:
    with serve(Raw(_garbage)) as url:
        yield url


@pytest.fixture(scope="session")
def huge_url() -> Iterator[str]:
    """Answers with :data:`HUGE_SIZE` bytes, declared with Content-Length."""
    with serve(Raw(huge_callback())) as url:
        yield url


@pytest.fixture(scope="session")
def binary_url() -> Iterator[str]:
    """Answers every request with a 1x1 PNG (``image/png``)."""
    with serve(_binary) as url:
        yield url


@pytest.fixture(scope="session")
def mid_body_url() -> Iterator[str]:
    """Declares a 1000-byte body, sends 113 bytes and closes the connection."""
    with serve(Raw(_mid_body)) as url:
        yield url
