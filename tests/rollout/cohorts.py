"""Two synthetic cohorts of split traffic, as a router's access log would show them (tests and bench).

Five endpoints with their own traffic share and latency (log-normal, medians 12 to 80 ms), all with
an error rate of 0.05% (half the seed plan's first-step limit). The candidate cohort gets ``share`` of the
requests; ``slower`` multiplies its latencies (1.2: +20% at p50 and p95 alike) and ``errors`` adds
percentage points to its error rate. Ids come from a few hundred, as hot records do.
"""

from __future__ import annotations

import math
import random

from paritycheck.rollout import CANDIDATE, LEGACY, CanaryLimits, LogRequest

__all__ = ["LIMITS", "cohorts"]

#: (path, share of the traffic, median ms) of each endpoint; ids vary as real traffic's do.
ENDPOINTS = (
    ("/api/items/{}", 0.40, 25.0),
    ("/api/users/{}/orders", 0.20, 60.0),
    ("/api/search", 0.20, 80.0),
    ("/api/health", 0.10, 12.0),
    ("/api/articles/{}", 0.10, 40.0),
)
SIGMA = 0.5
_PATHS = [[path.format(i + 1) for i in range(500)] for path, _, _ in ENDPOINTS]
_MEDIANS = [median for _, _, median in ENDPOINTS]
#: The limits the tests and the bench judge with: the defaults (+0.5 point of errors, 1.10× and 5 ms).
LIMITS = CanaryLimits()


def cohorts(
    seed: int,
    *,
    candidates: int = 2000,
    share: float = 0.10,
    base_errors: float = 0.05,
    slower: float = 1.0,
    errors: float = 0.0,
) -> list[LogRequest]:
    """``candidates`` candidate requests and as many legacy ones as make the candidate ``share``."""
    rng = random.Random(seed)
    total = round(candidates / share)
    picked = rng.choices(range(len(ENDPOINTS)), [w for _, w, _ in ENDPOINTS], k=total)
    limit = {c: (base_errors + (errors if c == CANDIDATE else 0.0)) / 100 for c in (LEGACY, CANDIDATE)}
    scale = {LEGACY: 1.0, CANDIDATE: slower}
    gauss, random_, ids = rng.gauss, rng.random, rng.randrange
    out = []
    for i, e in enumerate(picked):
        cohort = CANDIDATE if i < candidates else LEGACY
        status = 500 if random_() < limit[cohort] else 200
        ms = _MEDIANS[e] * math.exp(gauss(0.0, SIGMA)) * scale[cohort]
        out.append(LogRequest(cohort, "GET", _PATHS[e][ids(500)], status, ms))
    rng.shuffle(out)
    return out
