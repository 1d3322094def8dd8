"""Helper processes that take CPU work off the replay's event loop (capture parsing, store writing).

A child is ``python -m <module> ARGS`` started with :mod:`subprocess`, not :mod:`multiprocessing`:
spawn re-runs the parent's ``__main__``, which breaks any script that calls the library without a
``__name__ == "__main__"`` guard, and fork is unsafe in a process with threads. Messages are pickles
framed by a 4-byte length, parent to child on stdin, child to parent on stdout (a child prints nothing
else there). The child runs in its own session, so Ctrl-C in the terminal reaches only the parent,
which decides what an interrupt means; a child whose stdin closes (the parent closed it) finishes up
and exits. A child whose parent *dies* (SIGKILL, OOM) exits at once instead, without writing anything:
on Linux the kernel sends it SIGKILL (``PR_SET_PDEATHSIG``), elsewhere a watchdog thread sees its
parent pid change. Otherwise it would go on flushing for seconds and hold the database's write lock
just when the next command opens it (``database is locked``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

_LENGTH = struct.Struct("!I")
_PARENT_ENV = "PARITYCHECK_PARENT_PID"
#: How often the watchdog checks that the parent is still there (where PR_SET_PDEATHSIG is missing).
WATCHDOG_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1
#: The folder holding the ``paritycheck`` package, so the child imports this very copy of it.
_ROOT = str(Path(__file__).resolve().parents[2])
#: Pipe capacity a child may ask for (Linux's default limit for unprivileged processes). With the
#: default 64 KiB a frame of a few hundred KiB passes in many hops, each waiting for the other process
#: to be scheduled, while the event loop sits blocked in the write (docs/benchmarks.md).
PIPE_BYTES = 1 << 20


def write_frame(stream: IO[bytes], message: Any) -> None:
    """Pickle ``message`` and write it with its length; flushes."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or raise EOFError when the other side has closed."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def with_package_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the folder holding this copy of paritycheck first on ``PYTHONPATH``."""
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
    return env


def python_module(module: str) -> list[str]:
    """The command line of ``python -m module`` for a child: with ``-P``, so that the current folder
    is not put first on ``sys.path``. Without it, a child started in a folder holding a ``paritycheck/``
    of its own (a checked-out repository, a capture's folder) imported and ran that code."""
    return [sys.executable, "-P", "-m", module]


class Child:
    """A running helper process and the two ends of its pipes."""

    def __init__(
        self, module: str, *args: str, env_extra: dict[str, str] | None = None, pipe_bytes: int = 0
    ) -> None:
        """Start ``python -m module args``; ``pipe_bytes``: ask for pipes that large (0: the default)."""
        env = with_package_path({**os.environ, **(env_extra or {})})
        env[_PARENT_ENV] = str(os.getpid())
        self.process = subprocess.Popen(
            [*python_module(module), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # Ctrl-C goes to the parent's process group only
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        if pipe_bytes:
            for stream in (self.stdin, self.stdout):
                widen_pipe(stream, pipe_bytes)

    def send(self, message: Any) -> None:
        """Raises OSError (BrokenPipeError) when the child is gone."""
        write_frame(self.stdin, message)

    def receive(self) -> Any:
        """Raises EOFError when the child is gone."""
        return read_frame(self.stdout)

    @property
    def exit_status(self) -> int | None:
        return self.process.poll()

    def close(self, *, timeout: float = 30.0) -> None:
        """Close stdin (the child's cue to finish), wait for it, kill it if it does not stop."""
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):  # a broken pipe on close: the child is gone already
                stream.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def widen_pipe(stream: IO[bytes], size: int = PIPE_BYTES) -> None:
    """Ask for a pipe buffer of ``size`` bytes; where that is refused or unknown the default stays."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, size)


def serve_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """In a child: its binary stdin and stdout for frames; anything printed goes to stderr instead."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    die_with_parent()
    return stdin, stdout


def die_with_parent(parent: int | None = None) -> None:
    """In a child: exit at once when the parent process (``parent``, else the one named by the
    environment, else the current one) dies (see the module docstring)."""
    if parent is None:
        try:
            parent = int(os.environ[_PARENT_ENV])
        except (KeyError, ValueError):
            parent = os.getppid()
    if sys.platform == "linux":
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    # The parent may have died before prctl took effect; the watchdog covers that and other systems.
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watchdog, args=(parent,), name="parent-watchdog", daemon=True).start()


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)  # no flush, no cleanup: what is committed is in the database, the rest died with the parent
