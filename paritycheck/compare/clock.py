"""Instants read off each backend's own clock during the run: the same event seen by two clocks.

Objects the replay creates carry ``created_at`` / ``updated_at`` values that each backend wrote with its
own clock, a few seconds apart; later reads of those objects show the same gap. A/A calibration cannot
see it (the legacy backend's two answers agree). When both values of a changed instant lie inside the
run's own time window (from the first request sent to the latest answer so far, widened by a small skew
margin) and within ``timestamps_tolerance`` seconds of each other, they are classed as noise, with the
evidence counted per path. Instants outside the window (a stored ``due_date`` that differs by one second)
stay real differences. ``timestamps_tolerance = 0`` turns this off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from paritycheck.models import Difference

#: Clocks of two hosts, and the moment a value is read versus the moment the answer arrives, may differ
#: by this much and still count as inside the run window (seconds).
SKEW = 2.0
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def instant(value: Any) -> float | None:
    """Seconds since the epoch of an ISO 8601 instant with a UTC offset; None for anything else."""
    if type(value) is not str or not _ISO.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a local time without its offset is no instant
        return None
    return parsed.timestamp()


class RunClock:
    """Sorts a run's differences into real ones and instants read during the run (see the module)."""

    def __init__(self, tolerance: float, *, start: float | None = None, skew: float = SKEW) -> None:
        self.tolerance = tolerance
        self.start = time.time() if start is None else start
        self.skew = skew

    def settle(
        self, differences: Sequence[Difference], *, now: float | None = None
    ) -> tuple[tuple[Difference, ...], tuple[Difference, ...]]:
        """``(real, clock)``: the differences that remain, and the instants read during the run."""
        if self.tolerance <= 0 or not differences:
            return tuple(differences), ()
        now = time.time() if now is None else now
        low, high = self.start - self.skew, now + self.skew
        real: list[Difference] = []
        clock: list[Difference] = []
        for d in differences:
            a = instant(d.legacy) if d.kind == "changed" else None
            b = instant(d.candidate) if a is not None else None
            inside = a is not None and b is not None and low <= a <= high and low <= b <= high
            if inside and a is not None and b is not None and abs(a - b) <= self.tolerance:
                clock.append(d)
                continue
            real.append(d)
        if not clock:
            return tuple(differences), ()
        return tuple(real), tuple(clock)
