"""Which live requests are shadowed: a per-key consistent sample and a shadow rate cap.

The sample hashes a key (a header or cookie value such as a user id) with 32-bit FNV-1a, as GoReplay's
header/param limiters do, so that one user's requests are all in or all out of the sample.
"""

from __future__ import annotations

import time
from http.cookies import CookieError, SimpleCookie

from paritycheck.models import Request, header

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a, the hash GoReplay's limiters use."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


class Sampler:
    """Keep ``percent`` % of requests, consistently per key (``header:NAME`` or ``cookie:NAME``).

    Without a key, or for a request that lacks it, requests are sampled by a running counter (evenly,
    deterministic) so that tests and totals are reproducible.
    """

    def __init__(self, percent: float = 100.0, *, key: str | None = None) -> None:
        if not 0 <= percent <= 100:
            raise ValueError("--sample must be a percentage between 0 and 100")
        self.percent = percent
        self.kind, _, self.name = (key or "").partition(":")
        self.name = self.name.lower()
        if key and (self.kind not in ("header", "cookie") or not self.name):
            raise ValueError(f"sample key {key!r} must be header:NAME or cookie:NAME")
        self._count = 0

    def key_of(self, request: Request) -> str | None:
        if self.kind == "header":
            return header(request.headers, self.name)
        if self.kind == "cookie":
            raw = header(request.headers, "cookie")
            if raw is None:
                return None
            try:
                jar = SimpleCookie(raw)
            except CookieError:
                return None
            morsel = next((m for n, m in jar.items() if n.lower() == self.name), None)
            return morsel.value if morsel is not None else None
        return None

    def keep(self, request: Request) -> bool:
        if self.percent >= 100:
            return True
        if self.percent <= 0:
            return False
        key = self.key_of(request)
        if key is not None:
            return fnv1a32(key.encode()) % 100 < self.percent
        self._count += 1
        # Evenly spread: keep the n-th request when the kept share would otherwise fall behind.
        return int(self._count * self.percent / 100) != int((self._count - 1) * self.percent / 100)


class RateLimit:
    """At most ``rate`` shadows per second (0: unlimited), a token bucket holding one second's worth."""

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = rate
        self._tokens = rate
        self._last = time.monotonic()

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
