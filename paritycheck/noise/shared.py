"""Noise shared across endpoints: one error envelope, many endpoints.

The error envelope (``$.error...``) has the same shape on every endpoint, so a field such as
``$.error.meta.generated_at`` that the legacy backend changes between two answers changes everywhere.
Learning is per endpoint, though, and endpoints with too few re-asks never learn it: their differences
were reported as mismatches. When a path under the error envelope is learned noise on at least
:data:`MIN_ENDPOINTS` endpoints and *stable* on none (re-asked enough, never differing between the two
legacy answers, yet differing against the candidate), it is applied to every endpoint where it differed,
with a reason that says so in the noise report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paritycheck.store import NoisePath

#: Only paths under the error envelope are shared: data payloads differ in shape per endpoint.
ENVELOPE = "$.error."
#: Endpoints a path must be learned noise on before it applies to the others.
MIN_ENDPOINTS = 2
SHARED_PREFIX = "shared: "


@dataclass(frozen=True, slots=True)
class Evidence:
    """One endpoint's evidence for one path: re-asks, how many differed, raw differences, kinds."""

    samples: int
    differed: int
    raw: int
    total: int
    kinds: tuple[str, ...]


def shared_reason(endpoints: int) -> str:
    """The stored reason (shown by the noise report) of a path applied from other endpoints."""
    return f"{SHARED_PREFIX}noise on {endpoints} other endpoints under the error envelope, stable on none"


def extend(
    learned: Sequence[NoisePath],
    evidence: Mapping[str, Mapping[str, Evidence]],
    *,
    enough_samples: int,
) -> list[NoisePath]:
    """``learned`` plus the shared paths, applied to the endpoints that did not learn them.

    ``evidence`` maps endpoint -> path -> :class:`Evidence`; ``enough_samples`` re-asks make an endpoint
    where the path never differed between legacy answers count as stable (then nothing is shared).
    """
    noise_on: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    for p in learned:
        if p.path.startswith(ENVELOPE) and p.kinds:
            noise_on.setdefault(p.path, set()).add(p.endpoint)
            kinds.setdefault(p.path, set()).update(p.kinds)
    out = list(learned)
    for path, endpoints in noise_on.items():
        if len(endpoints) < MIN_ENDPOINTS:
            continue
        others = {ep: ev[path] for ep, ev in evidence.items() if ep not in endpoints and path in ev}
        stable = [ep for ep, e in others.items() if e.samples >= enough_samples and e.differed == 0]
        if stable:
            continue
        for endpoint, e in sorted(others.items()):
            if e.raw:
                reason = shared_reason(len(endpoints))
                out.append(
                    NoisePath(
                        endpoint,
                        path,
                        e.samples,
                        e.differed,
                        e.raw,
                        e.total,
                        reason,
                        tuple(sorted(kinds[path])),
                    )
                )
    out.sort(key=lambda p: (p.endpoint, p.path))
    return out


__all__ = ["ENVELOPE", "MIN_ENDPOINTS", "Evidence", "extend", "shared_reason"]
