"""The hand-off from the client path to the shadow helper process, the parent's side.

The proxy's event loop serves clients; everything else (asking the candidate, comparing, learning
noise, storing, recording, /metrics and /status) runs in a helper process (``python -m
paritycheck.live.helper``, started as :mod:`paritycheck.common.childproc` starts the store writer: its
own session, dying with its parent). Sharing one loop cost the client +79 ms p99 at 500 req/s
(docs/benchmarks.md). Per request the parent only packs the exchange and the legacy's reply into
tuples and writes one length-prefixed pickle to the helper's stdin through a non-blocking pipe
transport: :meth:`ShadowHelper.offer` never waits.

The channel is bounded in bytes. Past ``limit`` buffered bytes (the helper is behind: it reads eagerly,
so this means it is starved of CPU or stuck), a request is not handed off but dropped and counted as
the shadow queue's overflow is: a small notice without bodies goes instead, so that the helper stores
it as a dropped outcome and every total reconciles. Past ``hard_limit`` even notices stop; those
requests are kept as a short list (index, method, path: at most :data:`LOST_LISTED` of them) and reach
the helper when it catches up, which stores them as dropped in its window; past that list's bound they
are only counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import subprocess
from collections.abc import Callable
from typing import Any, Protocol

from paritycheck import errors
from paritycheck.common.childproc import Child
from paritycheck.compare import redact
from paritycheck.config import Config
from paritycheck.errors import ParitycheckError
from paritycheck.live.metrics import DROPPED_LOST, DROPPED_QUEUE, Metrics, Totals
from paritycheck.models import Exchange, Reply, Request

log = logging.getLogger(__name__)

LENGTH = struct.Struct("!I")
#: The helper's redaction key comes from the parent, so both mark secrets alike.
REDACT_KEY_ENV = redact.KEY_ENV
#: Requests the listener could not even announce (the helper far behind or gone) kept for the window.
LOST_LISTED = 100_000
UNKNOWN_ENDPOINT = "(not handed off)"

Packed = tuple[Any, ...]


class ShadowTarget(Protocol):
    """What the client path hands its copies to: :class:`~paritycheck.live.shadow.Shadow` in process,
    :class:`ShadowHelper` across the process boundary. Neither method may wait."""

    def offer(self, exchange: Exchange, legacy: Reply | None = None) -> None: ...

    def failed(self, exchange: Exchange, legacy: Reply) -> None: ...

    def malformed(self, reason: str) -> None: ...


def pack_exchange(exchange: Exchange, *, body: bool = True) -> Packed:
    """The live exchange as plain tuples (pickled several times faster than the dataclasses)."""
    r = exchange.request
    return (
        exchange.index,
        exchange.source,
        exchange.skip,
        (r.method, r.url, r.path, r.query, r.headers, r.body if body else None),
    )


def unpack_exchange(packed: Packed) -> Exchange:
    index, source, skip, request = packed
    return Exchange(index=index, source=source, request=Request(*request), skip=skip)


def pack_reply(reply: Reply | None) -> Packed | None:
    if reply is None:
        return None
    return (reply.status, reply.headers, reply.body, reply.elapsed_ms, reply.error)


def unpack_reply(packed: Packed | None) -> Reply | None:
    return None if packed is None else Reply(*packed)


def frame(message: Packed) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(data)) + data


async def read_message(reader: asyncio.StreamReader) -> Any:
    """The next framed message; raises EOFError when the other side closed the pipe."""
    try:
        head = await reader.readexactly(LENGTH.size)
        return pickle.loads(await reader.readexactly(LENGTH.unpack(head)[0]))
    except asyncio.IncompleteReadError:
        raise EOFError from None


def totals_from(status: dict[str, Any]) -> Totals:
    t = status["totals"]
    return Totals(
        seen=t["seen"],
        matched=t["matched"],
        mismatched=t["mismatched"],
        failed=t["failed"],
        skipped=t["skipped"],
        dropped=t["dropped"],
        reasons=dict(t["reasons"]),
        malformed=t.get("malformed", 0),
    )


def count_lost(metrics: Metrics, n: int) -> None:
    """Count ``n`` requests that were never handed off as dropped (totals and /metrics)."""
    t = metrics.totals
    t.seen += n
    t.dropped += n
    t.reasons[DROPPED_LOST] = t.reasons.get(DROPPED_LOST, 0) + n
    metrics.dropped.inc(n)
    metrics.exchanges.labels(metrics.endpoints(UNKNOWN_ENDPOINT), "dropped").inc(n)


class ShadowHelper:
    """The parent's end of the shadow helper process: start it, hand copies off, stop it."""

    def __init__(self, child: Child, *, limit: int, hard_limit: int) -> None:
        self.child = child
        self.limit = limit
        self.hard_limit = hard_limit
        self.admin_port = 0
        #: The helper's latest /status (pushed a few times a second) and, after stop, its final one.
        self.status: dict[str, Any] = {}
        self.run_id: int | None = None
        self.lost = 0
        #: The first LOST_LISTED of those ``lost`` requests, without bodies, for the helper's window.
        self.lost_listed: list[Packed] = []
        self.on_status: Callable[[dict[str, Any]], None] | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._read_transport: asyncio.ReadTransport | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[int] | None = None
        self._done: asyncio.Future[None] | None = None
        self._offered = -1
        self._stopping = False
        #: ``--record``: a request dropped for the channel's overflow still carries its body (and the
        #: legacy's reply) so that the capture holds it; only lost requests are missing from it.
        self.recording = False

    @classmethod
    async def spawn(
        cls,
        config: Config,
        options: Any,
        *,
        limit: int = 16 * 1024 * 1024,
        hard_limit: int = 64 * 1024 * 1024,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> ShadowHelper:
        """Start the helper with ``config`` and ``options``; return once it is ready (or raise its error)."""
        child = Child("paritycheck.live.helper", env_extra={REDACT_KEY_ENV: redact.current_key().hex()})
        helper = cls(child, limit=limit, hard_limit=hard_limit)
        helper.on_status = on_status
        helper.recording = getattr(options, "record", None) is not None
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_write_pipe(asyncio.Protocol, child.stdin)
        helper._transport = transport
        reader = asyncio.StreamReader(limit=1 << 24)
        helper._read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), child.stdout
        )
        helper._ready = loop.create_future()
        helper._done = loop.create_future()
        helper._reader_task = asyncio.ensure_future(helper._read(reader))
        transport.write(frame(("start", config, options)))
        try:
            helper.admin_port = await helper._ready
        except BaseException:
            await helper.kill()
            raise
        return helper

    async def _read(self, reader: asyncio.StreamReader) -> None:
        assert self._ready is not None and self._done is not None
        try:
            while True:
                message = await read_message(reader)
                kind = message[0]
                if kind == "ready":
                    self._ready.set_result(message[1])
                elif kind == "error":
                    self._ready.set_exception(_error(*message[1:]))
                elif kind == "status":
                    self._status(message[1])
                elif kind == "done":
                    self._status(message[1])
                    self.run_id = message[2]
                    self._done.set_result(None)
                    return
        except EOFError:
            status = await self._exit_status()
            what = f"the shadow helper process stopped (exit status {status})"
            if not self._ready.done():
                self._ready.set_exception(
                    ParitycheckError(what, hint="run again; if it repeats, report it with its stderr above")
                )
            elif not self._stopping:
                log.warning("%s; clients are still served, their requests are counted as dropped", what)
            if not self._done.done():
                self._done.set_result(None)

    def _status(self, status: dict[str, Any]) -> None:
        self.status = status
        if self.on_status is not None:
            self.on_status(status)

    @property
    def alive(self) -> bool:
        return self._done is not None and not self._done.done() and self._transport is not None

    def _send(self, message: Packed) -> None:
        assert self._transport is not None
        self._transport.write(frame(message))

    def _room(self) -> int:
        """0: room for a copy; 1: room for a notice only; 2: none."""
        if not self.alive or self._transport is None or self._transport.is_closing():
            return 2
        size = self._transport.get_write_buffer_size()
        return 0 if size < self.limit else 1 if size < self.hard_limit else 2

    def offer(self, exchange: Exchange, legacy: Reply | None = None) -> None:
        """Hand a copy to the helper (with the legacy reply the client got, in proxy mode); never waits."""
        self._offered = -1
        room = self._room()
        if room == 0:
            if self.lost and self.alive:
                self._send_lost()
            self._send(("offer", pack_exchange(exchange), pack_reply(legacy)))
            self._offered = exchange.index
        elif room == 1:
            if self.recording:
                self._send(("drop", pack_exchange(exchange), DROPPED_QUEUE, pack_reply(legacy)))
                self._offered = exchange.index
            else:
                self._send(("drop", pack_exchange(exchange, body=False), DROPPED_QUEUE, None))
        else:
            self._lose(exchange)

    def failed(self, exchange: Exchange, legacy: Reply) -> None:
        """The legacy did not answer (the client got 502): the helper counts it as failed."""
        room = self._room()
        if room < 2:
            self._send(("failed", pack_exchange(exchange, body=room == 0), pack_reply(legacy)))
        else:
            self._lose(exchange)

    def malformed(self, reason: str) -> None:
        """A client request refused as malformed: the helper counts it (/metrics, /status)."""
        if self._room() < 2:
            self._send(("malformed", reason))

    def _lose(self, exchange: Exchange) -> None:
        self.lost += 1
        if len(self.lost_listed) < LOST_LISTED:
            self.lost_listed.append(pack_exchange(exchange, body=False))

    def _send_lost(self) -> None:
        self._send(("lost", self.lost, self.lost_listed))
        self.lost, self.lost_listed = 0, []

    def record(self, exchange: Exchange) -> None:
        """``--record``: the helper writes the copy it was just offered (request and legacy reply)."""
        if exchange.index == self._offered and self._room() < 2:
            self._send(("record", exchange.index, exchange.started))

    async def stop(self, drain: float) -> None:
        """Ask the helper to drain (bounded), close its window and report; wait for it to exit."""
        self._stopping = True
        assert self._done is not None
        if self.alive:
            if self.lost:
                self._send_lost()
            self._send(("stop", drain))
            # Draining is bounded by ``drain``; closing the window (noise, the HTML report) takes longer
            # on big windows, hence the margin before the helper is given up on.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._done), drain + 120)
        await self.kill(grace=10.0)

    async def kill(self, *, grace: float = 0.0) -> None:
        """Close the pipes, give the helper ``grace`` seconds to exit, then kill it."""
        self._stopping = True  # its exit is expected from now on: no warning
        if self._transport is not None:
            self._transport.close()
        process = self.child.process
        if await asyncio.to_thread(_reap, process, grace) is None:
            process.kill()
            await asyncio.to_thread(_reap, process, 5.0)
        if self._reader_task is not None and not self._reader_task.done():
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._read_transport is not None:
            self._read_transport.close()
        if self.child.stdout is not None:
            with contextlib.suppress(OSError):
                self.child.stdout.close()
        if self.lost:  # the helper never heard of these: count them here
            t = self.status.setdefault("totals", Totals().as_dict())
            for key in ("seen", "dropped"):
                t[key] += self.lost
            t["reasons"][DROPPED_LOST] = t["reasons"].get(DROPPED_LOST, 0) + self.lost
            self.lost, self.lost_listed = 0, []
            self._status(self.status)

    async def _exit_status(self) -> int | None:
        # The pipe closes as the process exits: reap it (briefly) without blocking the loop.
        return await asyncio.to_thread(_reap, self.child.process, 5.0)


def _reap(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    return process.poll()


def _error(kind: str, message: str, hint: str | None) -> ParitycheckError:
    """The helper's error as the same class, so the CLI exits as it would have (BackendError: 3)."""
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, ParitycheckError)) or cls is errors.CaptureError:
        cls = ParitycheckError
    return cls(message, hint=hint)
