"""Comparing stream records: alignment (missing, extra, order), payload paths, stream-level, SignalR."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from paritycheck.compare import Comparator
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.models import STREAM_MEDIA, Reply

EP = "GET /feed"


def _reply(events: list[Any], *, kind: str = "sse", close: Any = None, status: int = 200) -> Reply:
    doc = {"stream": kind, "events": events, "close": close, "end": "closed", "malformed_lines": 0}
    return Reply(status, (("content-type", STREAM_MEDIA),), json.dumps(doc).encode())


def _sse(*datas: Any) -> list[dict[str, Any]]:
    return [{"event": "activity", "data": json.dumps(d)} for d in datas]


def _kinds(a: Reply, b: Reply, **rules: Any) -> list[tuple[str, str]]:
    comparator = Comparator(NormaliseConfig(), [EndpointRule(match=EP, **rules)] if rules else [])
    return [(d.kind, d.path) for d in comparator.compare(EP, a, b)]


def test_payload_differences_have_event_paths_and_camel_case_is_normalised() -> None:
    legacy = _reply(_sse({"userId": 1, "what": "login"}, {"userId": 2, "what": "logout"}))
    candidate = _reply(_sse({"user_id": 1, "what": "login"}, {"user_id": 3, "what": "logout"}))
    assert _kinds(legacy, candidate) == [("changed", "$.events[1].data.user_id")]


def test_missing_extra_and_order() -> None:
    a, b, c, d = ({"n": i} for i in range(4))
    assert _kinds(_reply(_sse(a, b, c)), _reply(_sse(a, c))) == [
        ("event-missing", "$.events[1]"),
        ("changed", "$.count"),
    ]
    assert _kinds(_reply(_sse(a, c)), _reply(_sse(a, d, c))) == [
        ("event-extra", "$.events[1]"),
        ("changed", "$.count"),
    ]
    assert _kinds(_reply(_sse(a, b, c)), _reply(_sse(b, a, c))) == [("event-order", "$.events[1]")]


def test_unordered_events_compare_as_a_multiset() -> None:
    a, b = {"n": 1}, {"n": 2}
    assert _kinds(_reply(_sse(a, b)), _reply(_sse(b, a)), unordered_events=True) == []


def test_close_code_and_handshake_status() -> None:
    legacy = _reply([], kind="websocket", close={"code": 1000, "reason": ""}, status=101)
    candidate = _reply([], kind="websocket", close={"code": 1006, "reason": ""}, status=401)
    assert _kinds(legacy, candidate) == [("status", "status"), ("changed", "$.close.code")]


def test_signalr_ids_are_correlated_and_chunks_coalesced() -> None:
    def inv(target: str, *args: Any, invocation: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": 1, "target": target, "arguments": list(args)}
        if invocation is not None:
            data["invocationId"] = invocation
        return {"data": data}

    legacy = _reply(
        [inv("Chunk", "Hel"), inv("Chunk", "lo"), {"data": {"type": 3, "invocationId": "7"}}], kind="signalr"
    )
    candidate = _reply([inv("Chunk", "H"), inv("Chunk", "ello"), {"data": {"type": 3, "invocationId": "a1"}}],
                       kind="signalr")  # fmt: skip
    assert _kinds(legacy, candidate) == []
    other = _reply([inv("Chunk", "Help"), {"data": {"type": 3, "invocationId": "x"}}], kind="signalr")
    assert _kinds(legacy, other) == [("changed", "$.events[0].data.arguments[0]")]
    strict = Comparator(NormaliseConfig(), coalesce=False)
    assert strict.compare(EP, legacy, candidate)


@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.integers(0, 3), max_size=2), max_size=6))
def test_a_stream_never_differs_from_itself(datas: list[dict[str, int]]) -> None:
    assert _kinds(_reply(_sse(*datas)), _reply(_sse(*datas))) == []
