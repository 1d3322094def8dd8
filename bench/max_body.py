"""Peak memory and speed of reading one large reply body, under and over ``[replay] max_body``.

Over ``max_body`` the transport hashes the rest of the body instead of keeping it (compared by size and
SHA-256), so memory stays flat however large the body. Each case runs in its own process, because peak
RSS (``ru_maxrss``) only grows. ``python bench/max_body.py [--size-mib 256] [--repeat 3]
[--clients http1,aiohttp]`` (each client named, default the lean one and aiohttp's).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import threading
import time

from paritycheck.models import Request
from paritycheck.replay import make_transport


async def _stream(size: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    block, left = b"x" * 65536, size
    while left > 0:
        part = block[: min(left, len(block))]
        writer.write(b"%x\r\n%s\r\n" % (len(part), part))
        left -= len(part)
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    writer.close()


def _serve(size: int) -> str:
    """A loopback server in a thread that answers every request with ``size`` bytes; its base URL."""
    ready: list[str] = []
    started = threading.Event()

    def run() -> None:
        async def main() -> None:
            server = await asyncio.start_server(lambda r, w: _stream(size, r, w), "127.0.0.1", 0)
            ready.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
            started.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    started.wait()
    return ready[0]


def one(client: str, limit: int, size: int) -> None:
    """Read one ``size``-byte body with ``client`` and ``max_body=limit``; print peak RSS growth, MiB/s."""
    url = _serve(size)

    async def main() -> tuple[int, float]:
        transport = make_transport(client, concurrency=1, max_body=limit)
        try:
            t0 = time.perf_counter()
            reply = await transport.send(url, Request("GET", url + "/", "/"), headers={}, timeout=300)
            return len(reply.body), time.perf_counter() - t0
        finally:
            await transport.aclose()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kept, elapsed = asyncio.run(main())
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{grew:.0f} {size / elapsed / 2**20:.0f} {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clients", default="http1,aiohttp")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]), int(args.one[2]))
        return
    size = args.size_mib << 20
    cases = [
        (client, label, limit)
        for client in args.clients.split(",")
        for label, limit in (("over max_body (1 MiB): hashed", 1 << 20), ("under max_body: kept", 2 * size))
    ]
    for client, label, limit in cases:
        runs = [
            subprocess.run(
                [sys.executable, __file__, "--one", client, str(limit), str(size)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            for _ in range(args.repeat)
        ]
        rss = statistics.median(float(r[0]) for r in runs)
        speed = statistics.median(float(r[1]) for r in runs)
        figures = f"peak RSS +{rss:.0f} MiB, {speed:.0f} MiB/s (median of {args.repeat})"
        print(f"{client}: {args.size_mib} MiB body, {label}: {figures}")


if __name__ == "__main__":
    main()
