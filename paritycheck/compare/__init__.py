"""Compare: pure functions from two replies to a list of differences.

Normalise both bodies (key case, envelopes, timestamps, numbers, ignore and unordered rules), diff
them structurally with JSONPaths, and redact secrets before anything is stored or shown.
"""

from __future__ import annotations

from paritycheck.compare.comparator import Comparator, digest, media_type
from paritycheck.compare.normalise import Rules, timestamp, to_snake
from paritycheck.compare.redact import REDACTED
from paritycheck.compare.streams import stream_view

__all__ = ["REDACTED", "Comparator", "Rules", "digest", "media_type", "stream_view", "timestamp", "to_snake"]
