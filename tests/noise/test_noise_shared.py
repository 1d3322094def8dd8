"""A noisy path under the error envelope, learned on several endpoints and stable on none, applies to all."""

from __future__ import annotations

from paritycheck.config import NoiseConfig
from paritycheck.models import Difference
from paritycheck.noise import NoiseLearner

PATH = "$.error.meta.generated_at"


def _generated(i: int) -> list[Difference]:
    return [Difference("changed", PATH, f"2026-01-01T00:00:0{i}Z", f"2026-01-01T00:00:1{i}Z")]


def _learner(*, stable_elsewhere: bool) -> NoiseLearner:
    learner = NoiseLearner(NoiseConfig(samples=5), allow_writes=False)
    for endpoint in ("GET /a/{id}", "GET /b/{id}"):  # enough re-asks: learned
        for i in range(5):
            learner.add_sample(endpoint, _generated(i))
            learner.add_raw(endpoint, _generated(i))
    for i in range(2):  # too few re-asks to learn anything, but the same field differs against candidate
        learner.add_raw("GET /c/{id}", _generated(i))
    if stable_elsewhere:  # re-asked enough and never differing between legacy answers: really stable there
        for i in range(5):
            learner.add_sample("GET /d/{id}", [])
            learner.add_raw("GET /d/{id}", _generated(i))
    return learner


def test_noise_on_several_endpoints_and_stable_on_none_applies_to_all() -> None:
    paths = {(p.endpoint, p.path): p for p in _learner(stable_elsewhere=False).classify()}
    assert {ep for ep, path in paths if path == PATH} == {"GET /a/{id}", "GET /b/{id}", "GET /c/{id}"}
    shared = paths[("GET /c/{id}", PATH)]
    assert shared.describe() == "noise on 2 other endpoints under the error envelope, stable on none"
    assert shared.kinds == ("changed",)
    assert paths[("GET /a/{id}", PATH)].describe() == "5/5 legacy re-asks differed"


def test_a_path_stable_on_one_endpoint_is_not_shared() -> None:
    paths = {(p.endpoint, p.path) for p in _learner(stable_elsewhere=True).classify()}
    assert ("GET /c/{id}", PATH) not in paths and ("GET /d/{id}", PATH) not in paths
    assert ("GET /a/{id}", PATH) in paths
