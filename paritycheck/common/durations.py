"""Durations as people write them in a configuration: ``90s``, ``15m``, ``24h``, ``3d``, ``1h30m``.

Read by ``[rollout]`` (how long a step is held, the recent period its triggers watch) and shown back in
the same form (:func:`format_duration`), so a hold says ``3h12m more`` rather than ``11520.0 s``.
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_duration(text: str) -> float | None:
    """Seconds in ``text`` (``1h30m`` -> 5400.0), or None when it is not such a duration."""
    compact = text.strip().lower().replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))


def format_duration(seconds: float) -> str:
    """``3h12m``, ``45s``, ``2d4h``: the two largest units, rounded down (``0s`` for nothing)."""
    left = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
        if len(parts) == 2:
            break
    return "".join(parts)
