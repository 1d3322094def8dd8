"""Choosing which exchanges to replay."""

from __future__ import annotations

import pytest

from paritycheck.capture import Selector
from paritycheck.errors import ConfigError
from paritycheck.models import Exchange, Request


def _ex(method: str, path: str, *, skip: str | None = None) -> Exchange:
    request = Request(method=method, url=f"https://x.test{path}", path=path)
    return Exchange(index=0, source="c.har", request=request, skip=skip)


def test_defaults_replay_safe_methods_only() -> None:
    s = Selector()
    for method in ("GET", "HEAD", "OPTIONS"):
        assert s.skip_reason(_ex(method, "/a")) is None
    assert s.skip_reason(_ex("POST", "/a")) == "unsafe method POST (use --allow-writes)"
    assert s.skip_reason(_ex("DELETE", "/a")) == "unsafe method DELETE (use --allow-writes)"


def test_allow_writes() -> None:
    s = Selector(allow_writes=True)
    assert s.skip_reason(_ex("POST", "/a")) is None
    assert s.skip_reason(_ex("DELETE", "/a")) is None


def test_capture_skip_is_kept() -> None:
    assert Selector(allow_writes=True).skip_reason(_ex("GET", "/ws", skip="websocket")) == "websocket"
    assert Selector(include=["/ws"]).skip_reason(_ex("GET", "/ws", skip="not http")) == "not http"


def test_include_and_exclude() -> None:
    s = Selector(include=["GET /api/*", "/health"], exclude=["* /api/admin/*"], allow_writes=True)
    assert s.skip_reason(_ex("GET", "/api/v1/users/1")) is None
    assert s.skip_reason(_ex("POST", "/health")) is None
    assert s.skip_reason(_ex("POST", "/api/v1/users")) == "not included"
    assert s.skip_reason(_ex("GET", "/other")) == "not included"
    assert s.skip_reason(_ex("GET", "/api/admin/x")) == "excluded by * /api/admin/*"


def test_exclude_only() -> None:
    s = Selector(exclude=["GET /metrics", "/internal/*"])
    assert s.skip_reason(_ex("GET", "/metrics")) == "excluded by GET /metrics"
    assert s.skip_reason(_ex("HEAD", "/metrics")) is None
    assert s.skip_reason(_ex("GET", "/internal/a/b")) == "excluded by * /internal/*"


def test_exclusion_reason_comes_before_the_write_guard() -> None:
    s = Selector(exclude=["POST /a"])
    assert s.skip_reason(_ex("POST", "/a")) == "excluded by POST /a"
    assert s.skip_reason(_ex("POST", "/b")) == "unsafe method POST (use --allow-writes)"


def test_lower_case_method_in_pattern() -> None:
    assert Selector(include=["get /a"]).skip_reason(_ex("GET", "/a")) is None


def test_reasons_are_stable_for_grouping() -> None:
    s = Selector(include=["/api/*"])
    reasons = {s.skip_reason(_ex("GET", f"/other/{i}")) for i in range(10)}
    assert reasons == {"not included"}


@pytest.mark.parametrize("bad", ["GET", "FETCH /x", "GET x", ""])
@pytest.mark.parametrize("where", ["include", "exclude"])
def test_malformed_patterns(bad: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        Selector(**{where: [bad]})  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)
    assert where in str(info.value)
    assert info.value.hint
