"""Shards' noise evidence: stored as JSON, summed, classed once (what one process would class)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from paritycheck.config import NoiseConfig
from paritycheck.models import Difference
from paritycheck.noise import NoiseLearner, classify_merged

PATHS = ("$.a", "$.b[0].c", "$.b[3].c", "header:date")
_diffs = st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(("changed", "removed"))), max_size=3).map(
    lambda ds: [Difference(kind, path, "x", "y") for path, kind in ds]
)
# One observation: (shard, endpoint, "sample" | "raw" | "clock", differences).
_events = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(("GET /a", "GET /b")),
        st.sampled_from(("sample", "raw", "clock")),
        _diffs,
    ),
    max_size=60,
)


def _feed(learner: NoiseLearner, what: str, endpoint: str, diffs: list[Difference]) -> None:
    {"sample": learner.add_sample, "raw": learner.add_raw, "clock": learner.add_clock}[what](endpoint, diffs)


@given(_events)
def test_merged_shards_class_like_one_learner(events: list[tuple[int, str, str, list[Difference]]]) -> None:
    config = NoiseConfig()
    one = NoiseLearner(config, allow_writes=False)
    shards = [NoiseLearner(config, allow_writes=False) for _ in range(4)]
    for shard, endpoint, what, diffs in events:
        _feed(one, what, endpoint, diffs)
        _feed(shards[shard], what, endpoint, diffs)
    # Through JSON, as the store keeps it.
    stored = [orjson.loads(orjson.dumps(s.evidence())) for s in shards]
    assert classify_merged(config, stored, allow_writes=False) == one.classify()


def test_one_shards_samples_do_not_make_noise_of_a_field_that_always_differs() -> None:
    """Shard 1 saw ``$.n`` differ in all 5 of its A/A samples, the other three in none of theirs, and
    it differs on every compared exchange: noise for shard 1 alone, a real difference for the run."""
    config = NoiseConfig()
    shards = [NoiseLearner(config, allow_writes=False) for _ in range(4)]
    for i, shard in enumerate(shards):
        for _ in range(5):
            shard.add_sample("GET /a", [Difference("changed", "$.n", 1, 2)] if i == 0 else [])
            shard.add_raw("GET /a", [Difference("changed", "$.n", 1, 3)])
    assert [p.path for p in shards[0].classify()] == ["$.n"]
    assert classify_merged(config, [s.evidence() for s in shards], allow_writes=False) == []
