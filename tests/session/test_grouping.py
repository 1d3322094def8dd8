"""Session grouping and ordering: who belongs together, what runs in order, what keeps full concurrency."""

from __future__ import annotations

import json

import pytest

from paritycheck.config import Config, parse
from paritycheck.errors import ConfigError
from paritycheck.models import Exchange, Recorded, Request
from paritycheck.replay import Engine, make_transport
from paritycheck.session import Grouper, SessionReplay


def exchange(
    i: int,
    method: str,
    target: str,
    *,
    auth: str | None = None,
    page: str | None = None,
    answer: object = None,
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (),
) -> Exchange:
    path, _, query = target.partition("?")
    hdrs = (*headers, ("authorization", auth)) if auth else headers
    recorded = Recorded(status, (("content-type", "application/json"),), json.dumps(answer).encode())
    return Exchange(i, "c.har", Request(method, target, path, query, hdrs), recorded, page=page)


def replay(data: dict[str, object] | None = None) -> SessionReplay:
    config: Config = parse({"backends": {"legacy": "http://127.0.0.1:9", "candidate": "http://127.0.0.1:9"},
                            **(data or {})}, source="t")  # fmt: skip
    engine = Engine(legacy=config.backends.legacy, candidate=config.backends.candidate,
                    transport=make_transport("httpx", concurrency=1), timeout=1)  # fmt: skip
    return SessionReplay(config, engine)


def keys(s: SessionReplay, exchanges: list[Exchange]) -> list[object]:
    return [s.session_of((e, f"{e.request.method} {e.request.path}")) for e in exchanges]


def test_get_only_traffic_keeps_full_concurrency() -> None:
    s = replay()
    gets = [exchange(i, "GET", f"/api/items/{i}", auth="Bearer shared-service-token") for i in range(5)]
    assert keys(s, gets) == [None] * 5


def test_a_login_links_its_token_users_and_a_write_orders_the_session() -> None:
    s = replay()
    flow = [
        exchange(0, "GET", "/api/health"),
        exchange(1, "POST", "/api/login", answer={"access_token": "tok-legacy-123456"}),
        exchange(2, "GET", "/api/me", auth="Bearer tok-legacy-123456"),
        exchange(3, "POST", "/api/items", auth="Bearer tok-legacy-123456", answer={"id": 5}, status=201),
        exchange(4, "GET", "/api/items/5", auth="Bearer tok-legacy-123456"),
    ]
    found = keys(s, flow)
    assert found[0] is None  # a read before anything was written
    assert found[1] is not None and len(set(found[1:])) == 1  # one ordered session from the login on
    assert s.meta()["ordered"] == 1


def test_two_users_are_two_sessions() -> None:
    s = replay()
    a = exchange(0, "POST", "/api/items", auth="Bearer user-a-token-1")
    b = exchange(1, "POST", "/api/items", auth="Bearer user-b-token-2")
    ka, kb = keys(s, [a, b])
    assert ka is not None and kb is not None and ka != kb


def test_configured_header_key_and_none() -> None:
    s = replay({"sessions": {"key": "header:X-Session"}})
    one = exchange(0, "POST", "/a", headers=(("x-session", "s1"),))
    two = exchange(1, "POST", "/a", headers=(("x-session", "s2"),))
    again = exchange(2, "GET", "/b", headers=(("x-session", "s1"),))
    k1, k2, k3 = keys(s, [one, two, again])
    assert k1 == k3 != k2
    off = replay({"sessions": {"key": "none"}})
    assert keys(off, [one, two, again]) == [None, None, None]


def test_har_pages_tie_requests_together() -> None:
    grouper = Grouper("page")
    assert grouper.markers(exchange(0, "GET", "/a", page="page_1")) == [("page", "c.har", "page_1")]


def test_bad_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"sessions\.key"):
        Grouper("cookies")
