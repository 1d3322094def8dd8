"""The shadow helper process: ``python -m paritycheck.live.helper`` (see :mod:`paritycheck.live.handoff`).

It runs the live listener's shadow side (:meth:`LiveServer.start_shadow`: the shadow queue and its
workers, windows and their store writer, ``--record``, the admin listener) on its own event loop, fed
by the copies the client path hands off on stdin. It pushes its /status to the parent a few times a
second, so the parent's counters follow, and its final one when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import signal
import sys
from typing import IO, Any

from paritycheck.common import aio
from paritycheck.common.childproc import serve_stdio, write_frame
from paritycheck.compare import redact
from paritycheck.errors import ParitycheckError
from paritycheck.live.handoff import (
    REDACT_KEY_ENV,
    count_lost,
    read_message,
    unpack_exchange,
    unpack_reply,
)
from paritycheck.live.metrics import DROPPED_LOST
from paritycheck.live.serve import LiveServer
from paritycheck.models import Exchange, Recorded, Reply

#: How often the helper pushes its /status to the parent (s).
PUSH_SECONDS = 0.1
#: The helper allocates fast (requests, replies, parsed bodies, outcomes) and keeps little, so CPython's
#: default thresholds (700, 10, 10) make it traverse its whole heap often. With the set-up frozen and
#: these, the mirror sink replayed 2,015-2,072 pairs/s against 1,641-1,966 (three interleaved runs of
#: bench/live.py's burst, ~430 against ~540 µs of helper CPU per pair); memory stays flat in the soak.
GC_THRESHOLDS = (20_000, 50, 100)


async def _push(server: LiveServer, out: IO[bytes]) -> None:
    last: dict[str, Any] = {}
    while True:
        await asyncio.sleep(PUSH_SECONDS)
        status = server.status()
        if status != last:
            write_frame(out, ("status", status))
            last = status


async def _start(stdin: IO[bytes], out: IO[bytes]) -> tuple[LiveServer, asyncio.StreamReader] | None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    try:
        _, config, options = await read_message(reader)
    except EOFError:
        return None
    # The client path is the parent's: no lag guard here, and the shadow side runs in this process.
    server = LiveServer(config, dataclasses.replace(options, shadow_in_child=False, max_lag=0.0))
    try:
        await server.start_shadow()
    except ParitycheckError as exc:
        write_frame(out, ("error", type(exc).__name__, str(exc), exc.hint))
        return None
    except OSError as exc:  # the admin port is taken or not ours to bind
        write_frame(out, ("error", "ConfigError", f"--admin {options.admin}: {exc.strerror or exc}", None))
        return None
    # Everything imported and set up so far lives as long as the helper: out of the collector's sight.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    write_frame(out, ("ready", server.admin_port))
    return server, reader


async def _main(stdin: IO[bytes], out: IO[bytes]) -> None:
    started = await _start(stdin, out)
    if started is None:
        return
    server, reader = started
    shadow = server.shadow
    assert shadow is not None
    pusher = asyncio.ensure_future(_push(server, out))
    drain = 0.0  # the parent closed the pipe without asking to stop: keep what is stored, drain nothing
    offered: tuple[Exchange, Reply | None] | None = None
    try:
        while True:
            try:
                message = await read_message(reader)
            except EOFError:
                break
            kind = message[0]
            if kind == "offer":
                exchange, legacy = unpack_exchange(message[1]), unpack_reply(message[2])
                offered = (exchange, legacy)
                shadow.offer(exchange, legacy)
            elif kind == "record":
                if offered is not None and offered[0].index == message[1] and server.recording is not None:
                    exchange, legacy = offered
                    if legacy is not None:  # proxy mode: the request with the legacy's reply
                        recorded = Recorded(status=legacy.status, headers=legacy.headers, body=legacy.body)
                        exchange = dataclasses.replace(exchange, recorded=recorded, started=message[2])
                    server.recording.write(exchange)
                offered = None
            elif kind == "failed":
                reply = unpack_reply(message[2])
                assert reply is not None
                shadow.failed(unpack_exchange(message[1]), reply)
            elif kind == "drop":  # the listener's channel was full: as the shadow queue's overflow
                exchange = unpack_exchange(message[1])
                offered = (exchange, unpack_reply(message[3]))  # with --record, it is still recorded
                shadow.dropped(exchange, message[2])
            elif kind == "lost":  # not even a notice could be sent: stored now, the rest only counted
                n, listed = message[1], message[2]
                for packed in listed:
                    shadow.dropped(unpack_exchange(packed), DROPPED_LOST)
                if n > len(listed):
                    count_lost(server.metrics, n - len(listed))
            elif kind == "malformed":
                server.metrics.malformed(message[1])
            elif kind == "stop":
                drain = message[1]
                break
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
    run_id = await server.stop_shadow(drain=drain)
    write_frame(out, ("done", server.status(), run_id))


def main() -> None:
    """The helper: read the start message, run the shadow side, stop when asked (or the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    key = os.environ.pop(REDACT_KEY_ENV, "")
    if key:
        redact.new_key(bytes.fromhex(key))
    stdin, out = serve_stdio()
    # BrokenPipeError: the parent is gone, there is nobody to report to.
    with contextlib.suppress(BrokenPipeError), asyncio.Runner(loop_factory=aio.loop_factory()) as runner:
        runner.run(_main(stdin, out))


if __name__ == "__main__":
    main()
    sys.exit(0)
