"""The store writer child process: ``python -m paritycheck.store.child DB BATCH``.

It adds the outcomes that the parent's :class:`~paritycheck.store.childwriter.ChildWriter` sends and
flushes at each sync (see :mod:`paritycheck.store.childwriter` for why a child does the writing).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from paritycheck.common.childproc import read_frame, serve_stdio, write_frame
from paritycheck.compare import redact
from paritycheck.errors import StoreError
from paritycheck.store.childwriter import DSN_ENV, REDACT_KEY_ENV, describe
from paritycheck.store.dsn import OUTAGE_HINT, display_location, outage
from paritycheck.store.sqlite import Store

#: Outcomes per SQLite transaction here: fewer, larger commits than the parent's sends (store.BATCH)
#: cost 10-20 us less per outcome (bench/store.py --child). The writer still commits within
#: FLUSH_SECONDS of the first row it holds, and everything it holds when the parent goes or syncs.
COMMIT_BATCH = 2000


def main(argv: list[str]) -> None:
    """The child: ``python -m paritycheck.store.child DB BATCH``; add what arrives, flush on each sync."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    key = os.environ.pop(REDACT_KEY_ENV, "")
    if key:
        redact.new_key(bytes.fromhex(key))

    stdin, stdout = serve_stdio()
    path, batch = argv
    error: BaseException | None = None
    location = os.environ[DSN_ENV] if path == DSN_ENV else path
    sent = int(batch)  # the parent sends this many at a time, or fewer on the clock
    try:
        store = Store.open(location, create=False, batch=sent)
        store.for_bulk_writes(COMMIT_BATCH)
    except StoreError as exc:  # the parent opened it a moment ago: the database went away since
        # Worded as an outage met mid-run is ("cannot connect to … at DSN: why" gives the why).
        lost = outage(display_location(location), Exception(str(exc).split(": ", 1)[-1]))
        write_frame(stdout, ("failed", str(lost), OUTAGE_HINT, "StoreUnavailable"))
        return
    try:
        while True:
            try:
                message = read_frame(stdin)
            except EOFError:  # the parent is gone (or done): keep what it sent
                return
            kind = message[0]
            if kind == "batch":
                if error is None:
                    try:
                        for run_id, seq, packed in message[1]:
                            store.add_packed(run_id, seq, packed)
                        if len(message[1]) < sent:  # sent on the clock (a slow run): write it now
                            store.flush()
                    except Exception as exc:
                        error = exc
                        # Told at once, not at the next sync (the run's end): the parent stops replaying.
                        write_frame(stdout, ("failed", *describe(error)))
            elif kind == "sync":
                if error is None:
                    try:
                        store.flush()
                    except Exception as exc:
                        error = exc
                write_frame(stdout, ("ok",) if error is None else ("error", *describe(error)))
                error = None
    finally:
        # An error here was already reported at a sync, or there is no parent left to tell.
        with contextlib.suppress(Exception):
            store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
    # Everything is committed and the store closed; the parent waits for this exit at the end of every
    # run, and the interpreter's teardown took ~65 ms of it (an idle child, measured) for nothing.
    sys.stderr.flush()
    os._exit(0)
