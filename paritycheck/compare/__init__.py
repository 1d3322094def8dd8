"""Compare: pure functions from two replies to a list of differences.

Normalise both bodies (key case, envelopes, timestamps, numbers, ignore and unordered rules), diff
them structurally with JSONPaths, and redact secrets before anything is stored or shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

# Exports named like their own module load at once: importing the module would set the package's
# attribute to the module and hide them.
from paritycheck.compare.grade import (
    ACCEPTS_REFUSED,
    ADDITIVE,
    BEHAVIOURAL,
    BREAKING,
    GRADES,
    MISSING,
    SERVER_ERROR,
    described,
    detail,
    endpoint_method,
    grade,
    on_the_wire,
    risk,
    severity,
    shape,
    status_risk,
    wire_paths,
)

if TYPE_CHECKING:
    from paritycheck.compare.clock import RunClock, close_instants, instant
    from paritycheck.compare.comparator import Comparator, digest, media_type
    from paritycheck.compare.diff import LIMIT, bounded
    from paritycheck.compare.normalise import Rules, timestamp, to_snake
    from paritycheck.compare.redact import REDACTED
    from paritycheck.compare.redact import exchange as redact_exchange
    from paritycheck.compare.streams import stream_view

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "RunClock": "clock",
        "close_instants": "clock",
        "instant": "clock",
        "Comparator": "comparator",
        "digest": "comparator",
        "media_type": "comparator",
        "LIMIT": "diff",
        "bounded": "diff",
        "Rules": "normalise",
        "timestamp": "normalise",
        "to_snake": "normalise",
        "REDACTED": "redact",
        "redact_exchange": "redact:exchange",
        "stream_view": "streams",
    },
)

__all__ = [
    "ACCEPTS_REFUSED",
    "ADDITIVE",
    "BEHAVIOURAL",
    "BREAKING",
    "GRADES",
    "LIMIT",
    "MISSING",
    "REDACTED",
    "SERVER_ERROR",
    "Comparator",
    "Rules",
    "RunClock",
    "bounded",
    "close_instants",
    "described",
    "detail",
    "digest",
    "endpoint_method",
    "grade",
    "instant",
    "media_type",
    "on_the_wire",
    "redact_exchange",
    "risk",
    "severity",
    "shape",
    "status_risk",
    "stream_view",
    "timestamp",
    "to_snake",
    "wire_paths",
]
