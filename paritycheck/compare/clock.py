"""Instants read off each backend's own clock during the run: the same event seen by two clocks.

Objects the replay creates carry ``created_at`` / ``updated_at`` values that each backend wrote with its
own clock, a few seconds apart; later reads of those objects show the same gap. A/A calibration cannot
see it (the legacy backend's two answers agree). When both values of a changed instant lie inside the
run's own time window (from the first request sent to the latest answer so far, widened by a small skew
margin) and within ``timestamps_tolerance`` seconds of each other, they are classed as noise, with the
evidence counted per path. Instants outside the window (a stored ``due_date`` that differs by one second)
stay real differences. ``timestamps_tolerance = 0`` turns this off.

An instant computed as *now plus a lifetime* (a login's ``expires_at`` one hour ahead, a report's
``from`` seven days back) lies outside the run window, yet it too is read off each backend's clock. Both
values are classed the same way when each lies one common lifetime (:data:`LIFETIMES`: whole minutes,
hours and days that services use for tokens, sessions, caches and report periods) away from *this
exchange's own* window, from its request to its answer, widened by the skew margin. That window lasts
milliseconds, so a stored ``due_date`` lands there only if it really was computed from the moment of the
request.
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
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
#: Lifetimes that services add to (or take from) "now": tokens, sessions, caches, report periods.
LIFETIMES: tuple[int, ...] = tuple(
    sign * span
    for span in (
        *(m * _MINUTE for m in (1, 2, 5, 10, 15, 20, 30, 45)),
        *(h * _HOUR for h in (1, 2, 3, 4, 6, 8, 12, 24, 48, 72)),
        *(d * _DAY for d in (7, 14, 30, 60, 90, 180, 365)),
    )
    for sign in (1, -1)
)
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


def close_instants(d: Difference, tolerance: float) -> tuple[float, float] | None:
    """A changed difference's two sides as instants at most ``tolerance`` seconds apart, else None:
    what may have been read off two clocks (where they lie decides; :class:`RunClock`)."""
    a = instant(d.legacy) if d.kind == "changed" else None
    b = instant(d.candidate) if a is not None else None
    if a is None or b is None or abs(a - b) > tolerance:
        return None
    return a, b


class RunClock:
    """Sorts a run's differences into real ones and instants read during the run (see the module)."""

    def __init__(self, tolerance: float, *, start: float | None = None, skew: float = SKEW) -> None:
        self.tolerance = tolerance
        self.start = time.time() if start is None else start
        self.skew = skew

    def settle(
        self, differences: Sequence[Difference], *, now: float | None = None, elapsed: float = 0.0
    ) -> tuple[tuple[Difference, ...], tuple[Difference, ...]]:
        """``(real, clock)``: the differences that remain, and the instants read during the run.

        ``elapsed`` is how long this exchange took (seconds, the slower side): with ``now``, the moment
        its answers arrived, it bounds the exchange's own window for instants a lifetime away.
        """
        if self.tolerance <= 0 or not differences:
            return tuple(differences), ()
        now = time.time() if now is None else now
        low, high = self.start - self.skew, now + self.skew
        real: list[Difference] = []
        clock: list[Difference] = []
        for d in differences:
            pair = close_instants(d, self.tolerance)
            if pair is None:
                real.append(d)
                continue
            a, b = pair
            if (low <= a <= high and low <= b <= high) or self._lifetime_away(a, b, now, elapsed):
                clock.append(d)
            else:
                real.append(d)
        if not clock:
            return tuple(differences), ()
        return tuple(real), tuple(clock)

    def _lifetime_away(self, a: float, b: float, now: float, elapsed: float) -> bool:
        """Both instants lie one common lifetime from this exchange's own window (see the module)."""
        low, high = now - max(elapsed, 0.0) - self.skew, now + self.skew
        return any(low + k <= a <= high + k and low + k <= b <= high + k for k in LIFETIMES)
