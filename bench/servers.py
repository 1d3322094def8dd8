"""Fast local keep-alive backends for the bench: a raw asyncio HTTP/1.1 responder on uvloop.

Each backend runs in its own process, so the client under test is the bottleneck, as in real life.
Every answer is ~1 KB of JSON that depends on the request path; ``--differ`` changes one field.

Run one by hand: ``python bench/servers.py [--differ]`` prints its base URL and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_FILLER = [
    {"sku": f"SKU-{i:04d}", "name": f"Item number {i}", "price": 9.99 + i, "tags": ["a", "b"]}
    for i in range(9)
]


def body_for(path: str, *, differ: bool) -> bytes:
    """The JSON answer to ``path``: ~1 KB; with ``differ`` the ``version`` field is different."""
    data = {
        "path": path,
        "id": sum(map(ord, path)) % 100_000,
        "status": "active",
        "version": "2.0.0" if differ else "1.0.0",
        "updated_at": "2024-05-01T12:00:00Z",
        "items": _FILLER,
    }
    return json.dumps(data, separators=(",", ":")).encode()


class _Responder(asyncio.Protocol):
    """HTTP/1.1 keep-alive responder; handles pipelining and request bodies with Content-Length."""

    differ = False

    def __init__(self) -> None:
        self.buf = b""
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses
        self.cache: dict[bytes, bytes] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        out = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : line_end if line_end >= 0 else None])
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length :]
            target = head[: head.find(b"\r\n")].split(b" ")[1]
            out.append(self._response(target.split(b"?")[0]))
            if b"\r\nconnection: close" in lower:
                close = True
                break
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))
        if close:
            self.transport.close()

    def _response(self, path: bytes) -> bytes:
        response = _CACHE.get(path)
        if response is None:
            body = body_for(path.decode("latin-1"), differ=self.differ)
            response = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            if len(_CACHE) < 100_000:
                _CACHE[path] = response
        return response


_CACHE: dict[bytes, bytes] = {}


async def _serve(port: int, *, differ: bool) -> None:
    _Responder.differ = differ
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Responder, "127.0.0.1", port, backlog=1024)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--differ", action="store_true", help="change one field in every answer")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(_serve(args.port, differ=args.differ))
    except ImportError:
        asyncio.run(_serve(args.port, differ=args.differ))
    except KeyboardInterrupt:
        pass


@contextmanager
def backend(*, differ: bool = False) -> Iterator[str]:
    """Start one backend process; yield its base URL; stop it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, __file__, *(["--differ"] if differ else [])], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"bench backend did not start (exit {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
