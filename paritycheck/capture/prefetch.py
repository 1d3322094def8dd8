"""Read a capture in a child process that runs ahead of the replay, off the event loop's core.

Parsing a HAR entry and building its :class:`~paritycheck.models.Exchange` costs ~25-50 us of CPU, a large
share of what the single-threaded replay loop spends per exchange. :func:`read_in_child` moves that work
to a child process (``python -m paritycheck.capture.child``, see :mod:`paritycheck.common.childproc`) that
streams the file with :func:`paritycheck.capture.read` and sends the exchanges as batches of flat tuples,
pickled, on its stdout; the parent only unpickles and rebuilds the dataclasses (pickling slotted dataclasses
directly costs several times more than tuples).

Memory stays bounded by backpressure: the child pickles a batch, drops its tuples, and blocks in
its write until the parent has read the previous message (a Linux pipe buffers 64 KiB, far less
than a batch). So the child holds at most one pickled batch plus the one it is filling, and the parent
one batch it is yielding from. A batch ends at ``batch`` entries or about 1 MiB of URLs and bodies,
whichever comes first, so a capture of large bodies does not make large batches; the first batches are
small so the first exchange arrives soon after the child starts.

Starting the child takes a Python start-up and its imports: 0.2-0.6 s on a busy machine, during which a
replay had nothing to send (measured: 330-500 ms of a 9 s bench run). With ``head=True`` (what
:func:`read_fast` asks for) the parent reads the first entries itself meanwhile, checking between
entries whether the child has sent a batch that reaches past what was read here, and switches to the
child from that entry on (the child's earlier entries are dropped unread into exchanges).

Errors: a :class:`~paritycheck.errors.CaptureError` in the child is sent after the entries before it and
re-raised in the parent with the same message, file, entry and hint; any other exception becomes a
CaptureError ("internal error reading the capture: ..."); a child that dies is a CaptureError too, never a
hang (the parent reads end-of-file). Closing the iterator early terminates the child and reaps it.

The child runs in its own session, so Ctrl-C reaches only the parent, which closes the iterator; it
exits when the parent closes its end or dies (its next write fails with a broken pipe).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from paritycheck.capture import reader
from paritycheck.common.childproc import Child
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Recorded, Request

__all__ = ["PREFETCH_MIN_BYTES", "read_fast", "read_in_child"]

#: :func:`read_fast` uses a child process only for captures larger than this: starting one costs
#: ~100-200 ms, more than reading a small capture in-process.
PREFETCH_MIN_BYTES = 4 * 1024 * 1024

#: A batch is sent once its URLs and bodies reach this many bytes, even if it has fewer entries.
_BATCH_BYTES = 1 << 20
#: The first batch is this small, so that the replay can start; batches then double up to ``batch``.
_FIRST_BATCH = 16
#: How long to wait for the child to exit before terminating (then killing) it.
_JOIN_SECONDS = 2.0
LENGTH = struct.Struct("!I")  # the frame header of paritycheck.common.childproc
_INTERNAL_HINT = "this is a bug in paritycheck (or a disk error): please report it with the capture"

#: With ``head=True``, whether the child has sent something is checked every this many entries.
_HEAD_POLL = 32

# Message tags: the first item of every pickled message.
_BATCH, _ERROR, _END = 0, 1, 2


def read_fast(path: str | Path) -> Iterator[Exchange]:
    """Like :func:`paritycheck.capture.read`, parsed in a child process when the file is large."""
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # reader.read reports a missing or unreadable file with the right message
    if size > PREFETCH_MIN_BYTES:
        return read_in_child(path, head=True)
    return reader.read(path)


def read_in_child(path: str | Path, *, batch: int = 512, head: bool = False) -> Iterator[Exchange]:
    """Yield what :func:`paritycheck.capture.read` yields, in order, parsing in a child process.

    The file is checked before this returns (same errors as ``reader.read``); the child starts on the
    first ``next()``, so an iterator that is never used leaves no process behind. With ``head``, the
    first entries are read in this process while the child starts (module docstring).
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    file = str(path)
    reader.detect(path)  # raises the CaptureError reader.read(path) raises before it returns
    return _receive(file, batch, head=head)


def _ready(child: Child) -> bool:
    """Whether the child's pipe has something to read now (where that cannot be told: yes)."""
    try:
        return bool(select.select([child.stdout], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _head(file: str, child: Child, pending: list[Any]) -> Iterator[Exchange]:
    """Entries read here until the child has sent a message that reaches past them (into ``pending``)."""
    position = 0
    local = reader.read(file)
    try:
        for n, exchange in enumerate(local, 1):
            yield exchange
            position = exchange.index + 1
            if n % _HEAD_POLL:
                continue
            while _ready(child):
                message = _next(child, file)
                if message[0] != _BATCH or (message[1] and message[1][-1][0] >= position):
                    pending.extend((message, position))
                    return
    finally:
        close = getattr(local, "close", None)
        if close is not None:
            close()  # a generator: its file is closed now, not when collected
    pending.extend((None, position))  # read to the end here


def _next(child: Child, file: str) -> Any:
    try:
        return child.receive()
    except EOFError:
        child.close(timeout=_JOIN_SECONDS)
        raise CaptureError(
            f"the process reading the capture stopped unexpectedly (exit code {child.exit_status})",
            file=file,
            hint="it may have run out of memory or been killed; run again",
        ) from None


def _receive(file: str, batch: int, *, head: bool = False) -> Iterator[Exchange]:
    child = Child("paritycheck.capture.child", file, str(batch))
    finished = False
    position = 0  # with head: entries before this index were read here
    try:
        message: Any = None
        if head:
            pending: list[Any] = []
            yield from _head(file, child, pending)
            message, position = pending
            if message is None:
                return  # all read here: the finally stops the child
        while True:
            if message is None:
                message = _next(child, file)
            tag = message[0]
            if tag == _BATCH:
                for index, request, recorded, started, page, skip in message[1]:
                    if index < position:
                        continue
                    yield Exchange(
                        index,
                        file,
                        Request(*request),
                        None if recorded is None else Recorded(*recorded),
                        started,
                        page,
                        skip,
                    )
                message = None
            elif tag == _ERROR:
                finished = True
                raise _capture_error(*message[1:])
            else:
                finished = True
                return
    finally:
        if not finished:
            child.process.terminate()  # still reading: nobody wants the rest
        child.close(timeout=_JOIN_SECONDS)


def _capture_error(text: str, file: str, entry: int | None, hint: str | None) -> CaptureError:
    """Rebuild the child's CaptureError with the same ``str``, file, entry and hint."""
    where = file if entry is None else f"{file}: entry {entry}"
    prefix = f"{where}: "
    error = CaptureError(text.removeprefix(prefix), file=file, entry=entry, hint=hint)
    if str(error) != text:
        error.message = text
        error.args = (text,)
    return error


# --- the child ----------------------------------------------------------------------------------------


def produce(send: Callable[[bytes], None], file: str, batch: int) -> None:
    items: list[tuple[Any, ...]] = []
    size = 0
    limit = min(_FIRST_BATCH, batch)
    shared: dict[Any, Any] = {}
    entry = 0  # the entry being read when an unexpected exception happens
    try:
        for exchange in reader.read(file):
            request = exchange.request
            recorded = exchange.recorded
            # The same header tuples recur in nearly every entry; one object per batch pickles once and
            # is rebuilt once in the parent (pickle memoises by identity).
            headers = shared.setdefault(request.headers, request.headers)
            entry = exchange.index + 1
            size += len(request.url) + len(request.body or b"")
            rec: tuple[Any, ...] | None = None
            if recorded is not None:
                size += len(recorded.body or b"")
                rec = (recorded.status, shared.setdefault(recorded.headers, recorded.headers), recorded.body)
            req = (
                request.method,
                request.url,
                request.path,
                request.query,
                headers,
                request.body,
                request.stream,
            )
            items.append((exchange.index, req, rec, exchange.started, exchange.page, exchange.skip))
            if len(items) >= limit or size >= _BATCH_BYTES:
                data = pickle.dumps((_BATCH, items), protocol=5)
                items, size, limit = [], 0, min(limit * 2, batch)
                shared.clear()  # bounded: distinct headers (cookies, ids) would otherwise pile up
                send(data)
                del data
    except (BrokenPipeError, ConnectionResetError):
        raise
    except CaptureError as exc:
        _flush(send, items)
        send(pickle.dumps((_ERROR, str(exc), exc.file, exc.entry, exc.hint), protocol=5))
        return
    except Exception as exc:
        _flush(send, items)
        text = f"internal error reading the capture: {type(exc).__name__}: {exc}"
        where = f"{file}: entry {entry}: {text}"
        send(pickle.dumps((_ERROR, where, file, entry, _INTERNAL_HINT), protocol=5))
        return
    _flush(send, items)
    send(pickle.dumps((_END,), protocol=5))


def _flush(send: Callable[[bytes], None], items: list[tuple[Any, ...]]) -> None:
    if items:
        send(pickle.dumps((_BATCH, items), protocol=5))
