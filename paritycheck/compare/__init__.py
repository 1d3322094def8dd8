"""Compare: pure functions from two replies to a list of differences.

Normalise both bodies (key case, envelopes, timestamps, numbers, ignore and unordered rules), diff
them structurally with JSONPaths, and redact secrets before anything is stored or shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import attributes
from paritycheck.compare.diff import LIMIT, bounded
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
    from paritycheck.compare.normalise import Rules, timestamp, to_snake
    from paritycheck.compare.redact import REDACTED
    from paritycheck.compare.redact import exchange as redact_exchange
    from paritycheck.compare.streams import stream_view

# Imported on first use (paritycheck.common.lazy): the store writer child needs redaction and the
# grades, not the comparator and the configuration behind it. The grades stay eager: ``grade`` is
# both a function here and a submodule, and a lazy name would be shadowed by the submodule.
_LAZY = {
    "Comparator": "paritycheck.compare.comparator",
    "REDACTED": "paritycheck.compare.redact",
    "Rules": "paritycheck.compare.normalise",
    "RunClock": "paritycheck.compare.clock",
    "close_instants": "paritycheck.compare.clock",
    "digest": "paritycheck.compare.comparator",
    "instant": "paritycheck.compare.clock",
    "media_type": "paritycheck.compare.comparator",
    "redact_exchange": "paritycheck.compare.redact",
    "stream_view": "paritycheck.compare.streams",
    "timestamp": "paritycheck.compare.normalise",
    "to_snake": "paritycheck.compare.normalise",
}
__getattr__ = attributes(globals(), _LAZY, {"redact_exchange": "exchange"})

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
