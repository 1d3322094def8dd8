"""Open a capture writer that redacts secrets by default, for live modes' ``--record FILE``.

The writer itself lives in the capture stage, which sits below ``compare`` where redaction is; this
is where the two meet, so that a recording is redacted unless the caller opts out.
"""

from __future__ import annotations

from pathlib import Path

from paritycheck.capture import CaptureWriter
from paritycheck.compare import redact_exchange

__all__ = ["open_recording"]


def open_recording(path: str | Path, *, redact: bool = True, flush_every: int = 1) -> CaptureWriter:
    """A :class:`~paritycheck.capture.CaptureWriter` for ``path`` (``.har``, ``.jsonl`` or ``.ndjson``).

    Secrets (authorization, cookies, secret-named parameters and JSON keys) are redacted unless
    ``redact`` is False: a recording is a file that gets shared, attached to issues and committed.
    """
    return CaptureWriter(path, redact=redact_exchange if redact else None, flush_every=flush_every)
