"""Stream timings read back from the stored stream records (docs/streams.md), for the gate and reports.

A stream reply's ``elapsed_ms`` is its time to first event, which the ordinary latency criteria already
judge; the per-message round trips live only in the record, so they are read from the stored bodies.
"""

from __future__ import annotations

from typing import Any

from paritycheck.common import jsonparse
from paritycheck.store import Store

__all__ = ["StreamTimes", "stream_times"]

#: Per stream endpoint: exchanges, then legacy and candidate first-event ms, then their round-trip ms.
StreamTimes = dict[str, tuple[int, list[float], list[float], list[float], list[float]]]


def _times(store: Store, digest: str) -> tuple[float | None, list[float]]:
    try:
        doc: Any = jsonparse.loads(store.body(digest))
    except (ValueError, KeyError):
        return None, []
    if not isinstance(doc, dict):
        return None, []
    first = doc.get("first_event_ms")
    trips = [float(x) for x in doc.get("round_trips_ms") or () if isinstance(x, int | float)]
    return (float(first) if isinstance(first, int | float) else None), trips


def stream_times(store: Store, run_id: int) -> StreamTimes:
    """The stream endpoints of run ``run_id`` where both sides answered, in endpoint order."""
    found: StreamTimes = {}
    for endpoint, legacy, candidate in store.stream_bodies(run_id):
        count, l_first, c_first, l_trips, c_trips = found.get(endpoint, (0, [], [], [], []))
        for digest, firsts, trips in ((legacy, l_first, l_trips), (candidate, c_first, c_trips)):
            first, more = _times(store, digest)
            if first is not None:
                firsts.append(first)
            trips.extend(more)
        found[endpoint] = (count + 1, l_first, c_first, l_trips, c_trips)
    return dict(sorted(found.items()))
