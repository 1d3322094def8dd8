"""The noise learner: sample reservation, counting under wildcards, and the threshold rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paritycheck.config import NoiseConfig
from paritycheck.models import Difference, Exchange, Request
from paritycheck.noise import NoiseLearner, is_noise, wilson_upper


def exchange(method: str = "GET", path: str = "/x") -> Exchange:
    return Exchange(index=0, source="t", request=Request(method=method, url=f"http://h{path}", path=path))


def changed(path: str) -> Difference:
    return Difference("changed", path, "a", "b")


def learner(samples: int = 5, **kwargs: object) -> NoiseLearner:
    return NoiseLearner(NoiseConfig(samples=samples, **kwargs), allow_writes=False)  # type: ignore[arg-type]


def feed(
    lr: NoiseLearner, endpoint: str, *, samples: int, differed: int, total: int, raw: int, path: str
) -> None:
    for i in range(samples):
        lr.add_sample(endpoint, [changed(path)] if i < differed else [])
    for i in range(total):
        lr.add_raw(endpoint, [changed(path)] if i < raw else [])


def test_wants_sample_reserves_the_first_n_per_endpoint() -> None:
    lr = learner(3)
    assert [lr.wants_sample("GET /a", exchange()) for _ in range(5)] == [True, True, True, False, False]
    assert lr.wants_sample("GET /b", exchange()), "each endpoint has its own samples"


def test_unsafe_methods_are_asked_twice_only_with_allow_writes() -> None:
    assert not learner().wants_sample("POST /a", exchange("POST"))
    writes = NoiseLearner(NoiseConfig(), allow_writes=True)
    assert writes.wants_sample("POST /a", exchange("POST"))


def test_samples_zero_turns_learning_off() -> None:
    lr = learner(0)
    assert not lr.wants_sample("GET /a", exchange())


def test_always_differing_field_is_noise_with_its_evidence() -> None:
    lr = learner()
    feed(lr, "GET /a", samples=5, differed=5, total=20, raw=20, path="$.token")
    (path,) = lr.classify()
    assert (path.endpoint, path.path, path.samples, path.differed, path.raw, path.total) == (
        "GET /a",
        "$.token",
        5,
        5,
        20,
        20,
    )
    assert path.describe() == "5/5 legacy re-asks differed"
    assert path.kinds == ("changed",)


def test_stable_field_with_a_real_bug_is_not_noise() -> None:
    lr = learner()
    feed(lr, "GET /a", samples=5, differed=0, total=20, raw=20, path="$.price")
    assert lr.classify() == []


def test_one_noisy_sample_cannot_hide_a_field_that_always_differs() -> None:
    lr = learner()
    feed(lr, "GET /a", samples=5, differed=1, total=50, raw=50, path="$.price")
    assert lr.classify() == []


def test_noise_on_one_endpoint_is_not_noise_on_another() -> None:
    lr = learner()
    feed(lr, "GET /a", samples=5, differed=5, total=10, raw=10, path="$.id")
    feed(lr, "GET /b", samples=5, differed=0, total=10, raw=10, path="$.id")
    assert [(p.endpoint, p.path) for p in lr.classify()] == [("GET /a", "$.id")]


def test_array_elements_count_once_per_exchange_under_a_wildcard() -> None:
    lr = learner()
    for _ in range(5):
        lr.add_sample("GET /a", [changed("$.items[0].etag"), changed("$.items[1].etag")])
    for _ in range(10):
        lr.add_raw("GET /a", [changed("$.items[0].etag"), changed("$.items[3].etag")])
    (path,) = lr.classify()
    assert (path.path, path.differed, path.raw) == ("$.items[*].etag", 5, 10)


def test_volatile_headers_are_noise_without_samples() -> None:
    lr = learner(0)  # no A/A samples at all
    lr.add_raw(
        "GET /a", [Difference("header", "header:date", "x", "y"), Difference("header", "header:vary", 1, 2)]
    )
    (path,) = lr.classify()
    assert (path.path, path.reason, path.describe()) == ("header:date", "volatile header", "volatile header")


def test_volatile_header_list_is_configurable() -> None:
    lr = NoiseLearner(NoiseConfig(volatile_headers=("X-Build",)), allow_writes=False)
    lr.add_raw(
        "GET /a",
        [Difference("header", "header:x-build", "1", "2"), Difference("header", "header:date", 1, 2)],
    )
    assert [p.path for p in lr.classify()] == ["header:x-build"]


def test_only_the_kinds_seen_between_legacy_answers_are_covered() -> None:
    lr = learner()
    feed(lr, "GET /a", samples=5, differed=5, total=5, raw=5, path="$.token")
    (path,) = lr.classify()
    assert path.covers(Difference("changed", "$.token", "a", "b"))
    assert not path.covers(Difference("removed", "$.token", "a", None)), "a dropped field is not noise"
    assert not path.covers(Difference("changed", "$.other", "a", "b"))


def test_wilson_upper_bound() -> None:
    assert wilson_upper(5, 5, 0.95) == 1.0
    assert wilson_upper(0, 5, 0.95) < 0.5
    assert 0.2 < wilson_upper(1, 5, 0.95) < 0.7
    assert wilson_upper(0, 0, 0.95) == 1.0
    # More samples at the same rate: a tighter bound.
    assert wilson_upper(10, 50, 0.95) < wilson_upper(1, 5, 0.95)


@given(
    samples=st.integers(0, 50),
    total=st.integers(0, 1000),
    raw_share=st.floats(0, 1),
    relative=st.floats(0, 10),
    absolute=st.floats(0, 1),
    confidence=st.floats(0.5, 0.999),
)
def test_a_path_with_no_differing_sample_is_never_noise(
    samples: int, total: int, raw_share: float, relative: float, absolute: float, confidence: float
) -> None:
    config = NoiseConfig(relative_threshold=relative, absolute_threshold=absolute, confidence=confidence)
    assert not is_noise(0, samples, round(total * raw_share), total, config)


@given(samples=st.integers(1, 50), data=st.data())
def test_a_field_as_noisy_between_legacy_answers_as_against_the_candidate_is_noise(
    samples: int, data: st.DataObject
) -> None:
    differed = data.draw(st.integers(1, samples))
    total = data.draw(st.integers(1, 500))
    raw = min(total, int(total * differed / samples))  # raw rate at most the measured noise rate
    assert is_noise(differed, samples, raw, total, NoiseConfig())


def test_a_field_that_always_differs_elsewhere_is_noise_where_samples_never_showed_it() -> None:
    # $.meta.request_id differed on every legacy re-ask of three endpoints; on GET /goals/{id} the only
    # error answer (with $.error.meta.request_id) came after the sampled exchanges.
    from paritycheck.config import NoiseConfig
    from paritycheck.models import Difference
    from paritycheck.noise import NoiseLearner

    learner = NoiseLearner(NoiseConfig(samples=2), allow_writes=False)
    rid = Difference("changed", "$.meta.request_id", "a", "b")
    for endpoint in ("GET /a", "GET /b", "GET /c"):
        for _ in range(2):
            learner.add_sample(endpoint, [rid])
            learner.add_raw(endpoint, [rid])
    learner.add_sample("GET /goals/{id}", [])  # sampled answers without an error: nothing there
    learner.add_raw("GET /goals/{id}", [Difference("changed", "$.error.meta.request_id", "x", "y")])
    learner.add_raw("GET /goals/{id}", [Difference("changed", "$.error.meta.code", "x", "y")])
    paths = {(p.endpoint, p.path): p for p in learner.classify()}
    found = paths[("GET /goals/{id}", "$.error.meta.request_id")]
    assert "other endpoints" in found.describe() and ("GET /goals/{id}", "$.error.meta.code") not in paths
