"""The capture reader child process: ``python -m paritycheck.capture.child FILE BATCH``.

It streams FILE as frames on stdout for :func:`paritycheck.capture.read_in_child` (see
:mod:`paritycheck.capture.prefetch` for why large captures are parsed in a child).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from paritycheck.capture import prefetch
from paritycheck.common.childproc import serve_stdio


def main(argv: list[str]) -> None:
    """The child: ``python -m paritycheck.capture.child FILE BATCH`` streams FILE as frames on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _stdin, stdout = serve_stdio()
    file, batch = argv

    def send(data: bytes) -> None:
        stdout.write(prefetch.LENGTH.pack(len(data)))
        stdout.write(data)
        stdout.flush()

    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the parent is gone: stop
        prefetch.produce(send, file, int(batch))


if __name__ == "__main__":
    main(sys.argv[1:])
    # All sent: the parent waits for this exit (with the replay's event loop), and the interpreter's
    # teardown took ~65 ms of it for nothing.
    sys.stderr.flush()
    os._exit(0)
