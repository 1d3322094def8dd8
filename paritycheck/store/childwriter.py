"""Writing a run's outcomes from a child process, so the replay's event loop does not pay for it.

Storing an outcome (redacting, digesting and compressing bodies, inserting rows) costs about as much
CPU as everything else paritycheck does per exchange. In a CPU-bound replay the event loop is the
bottleneck, so :meth:`Store.write_in_child <paritycheck.store.sqlite.Store.write_in_child>` moves that work to
a child process (``python -m paritycheck.store.child``, see :mod:`paritycheck.common.childproc`) with its own
connection: the parent only packs each outcome into plain tuples and sends
them in batches through a pipe. The pipe blocks when the child falls behind, so memory stays bounded.

The child runs in its own session, so Ctrl-C reaches only the parent, which decides what an interrupt
means and then asks the child to flush. Each :meth:`ChildWriter.sync` is a barrier: it returns once
the child has written everything sent before it, or raises the child's error as a StoreError. A write
that fails in the child is also told at once, and raised at the parent's next batch, so a lost database
stops the run within a batch rather than at its end. If the parent dies, the child sees the pipe close,
writes what it received and exits.
"""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from paritycheck.common.childproc import PIPE_BYTES, Child
from paritycheck.compare import redact
from paritycheck.errors import StoreError, StoreUnavailable
from paritycheck.store.packed import Packed
from paritycheck.store.records import FLUSH_SECONDS

#: The environment variable that hands a PostgreSQL DSN to the writer child.
DSN_ENV = "PARITYCHECK_STORE_DSN"
#: The environment variable that hands the parent's redaction key to the writer child.
REDACT_KEY_ENV = redact.KEY_ENV
_STOPPED_HINT = "run again; if it repeats, run with --traceback and report it"


class ChildWriter:
    """The parent's side: sends packed outcomes in batches, and waits at each sync."""

    def __init__(self, path: Path | str, *, batch: int) -> None:
        # The run's redaction key goes by the environment, so the child marks secrets as the parent does.
        extra = {REDACT_KEY_ENV: redact.current_key().hex()}
        location = str(path)
        if location.startswith(("postgresql://", "postgres://")):
            # Not on the command line, where `ps` would show its password: the child inherits it.
            extra[DSN_ENV] = location
            location = DSN_ENV
        # A wide pipe: a batch of outcomes (~1.5 MB of ~1 KB bodies) then mostly fits, and the event loop
        # no longer waits in the write for the child to be scheduled and read it piece by piece.
        self.child = Child(
            "paritycheck.store.child", location, str(batch), env_extra=extra, pipe_bytes=PIPE_BYTES
        )
        self.batch = batch
        self.pending: list[tuple[int, int, Packed]] = []
        self._first_at = 0.0
        #: The child's write error, once told: every later send or sync raises it again.
        self.failed: StoreError | None = None

    def add(self, run_id: int, seq: int, packed: Packed) -> None:
        """Queue one packed outcome (paritycheck.store.packed); a full batch is sent at once."""
        if not self.pending:
            self._first_at = time.monotonic()
        self.pending.append((run_id, seq, packed))
        # A full batch, or one that waited FLUSH_SECONDS: the child writes it as it arrives (its own
        # Store flushes on the same clock), so a killed parent loses at most that much of a slow run.
        if len(self.pending) >= self.batch or time.monotonic() - self._first_at >= FLUSH_SECONDS:
            self._send(("batch", self.pending))
            self.pending = []

    def _send(self, message: tuple[Any, ...]) -> None:
        if self.failed is not None:
            raise self.failed
        try:
            self.child.send(message)
        except OSError:
            if _readable(self.child):  # it said why before it went
                self._receive()
            raise StoreError(_stopped(self.child), hint=_STOPPED_HINT) from None
        if message[0] == "batch" and _readable(self.child):  # the child told of a failed write
            self._receive()

    def _receive(self) -> tuple[Any, ...]:
        """The child's next message; its error (told at once, or at a sync) is raised, and kept."""
        try:
            reply: tuple[Any, ...] = self.child.receive()
        except (EOFError, OSError):
            raise StoreError(_stopped(self.child), hint=_STOPPED_HINT) from None
        if reply[0] in ("failed", "error"):
            message, hint, kind = reply[1:]
            cls = StoreUnavailable if kind == "StoreUnavailable" else StoreError
            self.failed = cls(message, hint=hint or _STOPPED_HINT)
            raise self.failed
        return reply

    def sync(self) -> None:
        """Return once everything sent so far is written; raise the child's error if it had one."""
        if self.pending:
            self._send(("batch", self.pending))
            self.pending = []
        self._send(("sync",))
        self._receive()

    def close(self) -> None:
        """Flush, then let the child finish and reap it."""
        try:
            self.sync()
        finally:
            self.child.close()


def describe(error: BaseException) -> tuple[str, str | None, str]:
    """What the child tells of a write error: message, hint and class (a lost database is told apart)."""
    return str(error), getattr(error, "hint", None), type(error).__name__


def _readable(child: Child) -> bool:
    """Whether the child has written something the parent has not read (without waiting)."""
    try:
        return bool(select.select([child.stdout], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _stopped(child: Child) -> str:
    return f"the store writer process stopped unexpectedly (exit status {child.exit_status})"
