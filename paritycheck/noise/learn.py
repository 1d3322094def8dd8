"""Learn which fields differ between two answers of the same backend, and class them as noise.

A/A calibration: for the first ``[noise] samples`` exchanges of each endpoint the legacy backend is asked
a second time (or ``legacy_secondary`` is), and every difference between its two answers is noise
evidence for that (endpoint, path). Every legacy-vs-candidate comparison is counted as raw evidence.
After the run :meth:`NoiseLearner.classify` compares the two rates per (endpoint, path), Diffy's rule
adapted to a handful of samples (docs/noise.md):

    noise  <=>  differed >= 1  and  raw / total <= U(differed, samples) * (1 + relative) + absolute

where ``U`` is the Wilson score upper bound of the noise rate at ``confidence``. A field that never
differed between the two legacy answers is never noise. Array indexes are counted under ``[*]``.
Volatile response headers (``Date``, ``ETag``, ``X-Request-Id``, ...) are noise without samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from paritycheck.common.jsonpath import wildcard
from paritycheck.config import NoiseConfig
from paritycheck.models import Difference, Exchange
from paritycheck.store import CLOCK, ELSEWHERE, LEARNED, VOLATILE, NoisePath

if TYPE_CHECKING:
    from paritycheck.store import Store


def wilson_upper(successes: int, trials: int, confidence: float) -> float:
    """Upper bound of the Wilson score interval of a proportion (two-sided ``confidence``); 1 if no trials."""
    if trials <= 0:
        return 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    z2n = z * z / trials
    centre = p + z2n / 2
    spread = z * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    return min(1.0, (centre + spread) / (1 + z2n))


def is_noise(differed: int, samples: int, raw: int, total: int, config: NoiseConfig) -> bool:
    """The threshold rule of the module docstring for one (endpoint, path)."""
    if differed < 1 or samples < 1:
        return False
    raw_rate = raw / total if total else 0.0
    bound = wilson_upper(differed, samples, config.confidence)
    return raw_rate <= bound * (1 + config.relative_threshold) + config.absolute_threshold


class _Counts:
    __slots__ = ("kinds", "n")

    def __init__(self) -> None:
        self.n = 0
        self.kinds: set[str] = set()


class _Endpoint:
    """Evidence of one endpoint: sample and raw counts per wildcard path."""

    __slots__ = ("clock", "noise", "raw", "reserved", "samples", "total")

    def __init__(self) -> None:
        self.reserved = 0
        self.samples = 0
        self.total = 0
        self.noise: dict[str, _Counts] = {}
        self.raw: dict[str, _Counts] = {}
        self.clock: dict[str, _Counts] = {}


def _count(into: dict[str, _Counts], differences: Sequence[Difference]) -> None:
    # Once per exchange and path: ten array elements differing is one differing exchange.
    seen: dict[str, set[str]] = {}
    for d in differences:
        seen.setdefault(wildcard(d.path), set()).add(d.kind)
    for path, kinds in seen.items():
        counts = into.get(path)
        if counts is None:
            counts = into[path] = _Counts()
        counts.n += 1
        counts.kinds |= kinds


_ENVELOPES = ("$.error.", "$.errors.", "$.data.")


def _in_envelope(path: str) -> str:
    """The path within its envelope: ``$.error.meta.x`` and ``$.meta.x`` are the same field."""
    for prefix in _ENVELOPES:
        if path.startswith(prefix):
            return "$." + path[len(prefix) :]
    return path


class NoiseLearner:
    """Collects A/A (legacy vs legacy) and raw (legacy vs candidate) differences; classifies at the end."""

    def __init__(self, config: NoiseConfig, *, allow_writes: bool) -> None:
        self.config = config
        self.allow_writes = allow_writes
        self.volatile = frozenset(f"header:{name.lower()}" for name in config.volatile_headers)
        self._endpoints: dict[str, _Endpoint] = {}

    def _endpoint(self, endpoint: str) -> _Endpoint:
        found = self._endpoints.get(endpoint)
        if found is None:
            found = self._endpoints[endpoint] = _Endpoint()
        return found

    def wants_sample(self, endpoint: str, exchange: Exchange) -> bool:
        """Whether to ask the legacy a second time for this exchange; reserves the sample if so."""
        if self.config.samples <= 0:
            return False
        if not exchange.request.is_safe and not self.allow_writes:
            return False
        state = self._endpoint(endpoint)
        if state.reserved >= self.config.samples:
            return False
        state.reserved += 1
        return True

    def add_sample(self, endpoint: str, differences: Sequence[Difference]) -> None:
        """Count one A/A comparison: the differences between the two legacy answers."""
        state = self._endpoint(endpoint)
        state.samples += 1
        _count(state.noise, differences)

    def add_raw(self, endpoint: str, differences: Sequence[Difference]) -> None:
        """Count one legacy-vs-candidate comparison (every compared exchange, matched ones too)."""
        state = self._endpoint(endpoint)
        state.total += 1
        _count(state.raw, differences)

    def rename(self, names: dict[str, str]) -> None:
        """Merge the evidence of endpoints renamed after the run (learned templates: ``{old: new}``)."""
        for old, new in names.items():
            state = self._endpoints.pop(old, None)
            if state is not None:
                self._merge(new, state)

    def _merge(self, endpoint: str, state: _Endpoint) -> None:
        into = self._endpoint(endpoint)
        into.reserved += state.reserved
        into.samples += state.samples
        into.total += state.total
        for mine, theirs in ((into.noise, state.noise), (into.raw, state.raw), (into.clock, state.clock)):
            for path, counts in theirs.items():
                merged = mine.setdefault(path, _Counts())
                merged.n += counts.n
                merged.kinds |= counts.kinds

    def evidence(self) -> dict[str, Any]:
        """The evidence counted so far, as JSON: a shard stores it for the run's merged classification."""
        return {
            endpoint: {
                "samples": state.samples,
                "total": state.total,
                **{
                    name: {path: [c.n, sorted(c.kinds)] for path, c in counts.items()}
                    for name, counts in (("noise", state.noise), ("raw", state.raw), ("clock", state.clock))
                },
            }
            for endpoint, state in self._endpoints.items()
        }

    def absorb(self, evidence: dict[str, Any]) -> None:
        """Add another learner's :meth:`evidence` (another shard's) to this one's."""
        for endpoint, data in evidence.items():
            state = _Endpoint()
            state.samples = state.reserved = int(data["samples"])
            state.total = int(data["total"])
            for name in ("noise", "raw", "clock"):
                into: dict[str, _Counts] = getattr(state, name)
                for path, (n, kinds) in data[name].items():
                    counts = into[path] = _Counts()
                    counts.n, counts.kinds = int(n), set(kinds)
            self._merge(endpoint, state)

    def _elsewhere(self, learned: list[NoisePath]) -> list[NoisePath]:
        """A field that differed on *every* legacy re-ask of at least two endpoints (a request id, a
        generation time) is noise on every endpoint where it differs, including those whose samples never
        showed it: an error answered only after the sampled ones. The field is compared within its
        envelope (``$.meta.request_id`` and ``$.error.meta.request_id`` are one field)."""
        always: dict[str, list[NoisePath]] = {}
        for p in learned:
            if p.reason == LEARNED and p.samples and p.differed == p.samples:
                always.setdefault(_in_envelope(p.path), []).append(p)
        done = {(p.endpoint, p.path) for p in learned}
        out: list[NoisePath] = []
        for endpoint, state in self._endpoints.items():
            for path, raw in state.raw.items():
                seen = always.get(_in_envelope(path), [])
                if len({p.endpoint for p in seen} - {endpoint}) < 2 or (endpoint, path) in done:
                    continue
                kinds = tuple(sorted({k for p in seen for k in p.kinds}))
                why = f"{ELSEWHERE} ({len(seen)} endpoints)"
                out.append(NoisePath(endpoint, path, state.samples, 0, raw.n, state.total, why, kinds))
        return out

    def add_clock(self, endpoint: str, differences: Sequence[Difference]) -> None:
        """Count instants classed as read during the run (:class:`paritycheck.compare.RunClock`)."""
        if differences:
            _count(self._endpoint(endpoint).clock, differences)

    def classify(self) -> list[NoisePath]:
        """Every (endpoint, path) classed as noise, sorted by endpoint and path."""
        out: list[NoisePath] = []
        for endpoint, state in self._endpoints.items():
            for path in sorted(state.noise.keys() | state.raw.keys()):
                noise = state.noise.get(path)
                raw = state.raw.get(path)
                raw_n = raw.n if raw else 0
                differed = noise.n if noise else 0
                if path in self.volatile:
                    if raw_n or differed:
                        out.append(
                            NoisePath(endpoint, path, state.samples, differed, raw_n, state.total, VOLATILE)
                        )
                    continue
                if noise is not None and is_noise(differed, state.samples, raw_n, state.total, self.config):
                    out.append(
                        NoisePath(
                            endpoint,
                            path,
                            state.samples,
                            differed,
                            raw_n,
                            state.total,
                            LEARNED,
                            tuple(sorted(noise.kinds)),
                        )
                    )
        out += self._elsewhere(out)
        # Clock-read instants, as evidence only: those differences were flagged as noise one by one when
        # compared, and the "clock" kind makes sure no other difference on the path is flagged with them.
        # A path already learned as noise (the legacy's own answers differ there too) is listed once.
        learned = {(p.endpoint, p.path) for p in out}
        for endpoint, state in self._endpoints.items():
            for path, counts in sorted(state.clock.items()):
                if (endpoint, path) not in learned:
                    n = counts.n
                    out.append(NoisePath(endpoint, path, 0, n, n, state.total, CLOCK, ("clock",)))
        out.sort(key=lambda p: (p.endpoint, p.path))
        return out


def classify_merged(
    config: NoiseConfig, evidence: Iterable[dict[str, Any]], *, allow_writes: bool
) -> list[NoisePath]:
    """Noise paths of a sharded run, classed once on the summed evidence of its shards: the same rule
    on the same counts as one process replaying the whole capture (docs/scale.md)."""
    learner = NoiseLearner(config, allow_writes=allow_writes)
    for one in evidence:
        learner.absorb(one)
    return learner.classify()


def noise_paths(store: Store, run_id: int) -> list[NoisePath]:
    """The noise paths stored with run ``run_id`` (StoreError if there is no such run)."""
    return store.noise_paths(run_id)


__all__ = [
    "LEARNED",
    "VOLATILE",
    "NoiseLearner",
    "NoisePath",
    "classify_merged",
    "is_noise",
    "noise_paths",
    "wilson_upper",
]
