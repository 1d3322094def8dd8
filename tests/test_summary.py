"""Summary maths: percentiles, parity, the --json shape, and the live summary agreeing with the stored one."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paritycheck.gate import LiveSummary, RunSummary, parity, percentile, summarise
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status
from paritycheck.store import Store
from tests.store.storehelpers import outcome, start

# -- percentiles


def test_percentile_by_hand() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)  # rank 1.5: halfway between 2 and 3
    assert percentile(values, 95) == pytest.approx(3.85)  # rank 2.85: 3 + 0.85 * (4 - 3)
    assert percentile([7.0], 99) == 7.0


def test_percentile_rejects_no_values_and_bad_q() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=60),
    st.integers(min_value=1, max_value=99),
)
def test_percentile_agrees_with_statistics_quantiles_inclusive(values: list[float], q: int) -> None:
    expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1]
    assert math.isclose(percentile(values, q), expected, rel_tol=1e-9, abs_tol=1e-6)


@given(st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=40))
def test_percentiles_are_ordered_and_bounded(values: list[float]) -> None:
    p = [percentile(values, q) for q in (0, 50, 95, 99, 100)]
    assert p == sorted(p)
    assert p[0] == min(values) and p[-1] == max(values)


def test_parity_excludes_skipped_and_is_none_when_nothing_replayed() -> None:
    assert parity(3, 1, 0) == 75.0
    assert parity(0, 0, 0) is None
    live = LiveSummary()
    live.add(outcome(1, status=Status.SKIPPED))
    nothing_replayed = live.parity
    assert nothing_replayed is None
    live.add(outcome(2))
    live.add(outcome(3, status=Status.FAILED, legacy_error="timeout"))
    assert live.parity == 50.0
    assert "3 exchanges" in live.line() and "50.0%" in live.line()


# -- the JSON shape

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "total", "matched", "mismatched", "failed", "skipped", "endpoints"],
    "properties": {
        "run_id": {"type": "integer"},
        "headline": {"type": ["string", "null"]},
        "findings": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": [
                    "signature",
                    "risk",
                    "title",
                    "why",
                    "exchanges",
                    "differences",
                    "endpoints",
                    "first_seen",
                    "example",
                    "accept",
                    "groups",
                ],
                "properties": {
                    "groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["endpoint", "kind", "path", "legacy", "candidate", "consequence"],
                        },
                    },
                    "accept": {"type": "object", "required": ["finding", "until", "command"]},
                },
            },
        },
        "endpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "endpoint",
                    "total",
                    "matched",
                    "mismatched",
                    "failed",
                    "legacy_ms",
                    "candidate_ms",
                    "differences",
                ],
                "properties": {
                    "legacy_ms": {"$ref": "#/$defs/ms"},
                    "candidate_ms": {"$ref": "#/$defs/ms"},
                    "differences": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["kind", "path", "count", "legacy", "candidate"],
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "ms": {
            "type": "object",
            "required": ["p50", "p95", "p99"],
            "properties": {q: {"type": ["number", "null"]} for q in ("p50", "p95", "p99")},
        }
    },
}


def test_to_json_follows_the_documented_schema(tmp_path: Path) -> None:
    diff = Difference("changed", "$.price", 1, 2)
    with Store.open(tmp_path / "j.db") as s:
        run_id = start(s)
        s.add(run_id, outcome(1))
        s.add(run_id, outcome(2, status=Status.MISMATCHED, differences=(diff,)))
        s.add(run_id, outcome(3, endpoint="GET /skipped", status=Status.SKIPPED))
        s.finish_run(run_id, status="complete")
        data = summarise(s, run_id).to_json()
    jsonschema.validate(data, _SCHEMA)
    assert json.loads(json.dumps(data)) == data
    assert (data["total"], data["matched"], data["mismatched"], data["skipped"]) == (3, 1, 1, 1)
    items, skipped = sorted(data["endpoints"], key=lambda e: e["endpoint"] != "GET /items/{id}")
    assert items["differences"] == [
        {
            "kind": "changed",
            "path": "$.price",
            "detail": "",
            "risk": "behavioural",
            "count": 1,
            "legacy": 1,
            "candidate": 2,
        }
    ]
    assert items["parity"] == 50.0
    (finding,) = data["findings"]
    assert finding["signature"] == "changed *.price" and finding["risk"] == "behavioural"
    assert finding["groups"] == [
        {
            "endpoint": "GET /items/{id}",
            "kind": "changed",
            "path": "$.price",
            "detail": "",
            "risk": "behavioural",
            "count": 1,
            "exchanges": 1,
            "legacy": 1,
            "candidate": 2,
            "consequence": False,
        }
    ]
    assert finding["first_seen"]["run_id"] == run_id and data["headline"].startswith("1 finding: 1. ")
    assert skipped["legacy_ms"] == {"p50": None, "p95": None, "p99": None}
    assert skipped["parity"] is None
    assert data["status"] == "complete" and data["backends"]["legacy"] == "http://l"


def test_difference_values_are_redacted_in_the_live_summary() -> None:
    live = LiveSummary()
    live.add(
        outcome(
            1, status=Status.MISMATCHED, differences=(Difference("removed", "$.password", "pw-9z8y", None),)
        )
    )
    assert "pw-9z8y" not in json.dumps(live.summary().to_json())


def test_differences_are_bounded_per_endpoint() -> None:
    live = LiveSummary()
    diffs = tuple(Difference("changed", f"$.field{i}", i, -i) for i in range(5))
    live.add(outcome(1, status=Status.MISMATCHED, differences=diffs))
    (endpoint,) = live.summary(max_differences=2).endpoints
    assert len(endpoint.differences) == 2 and endpoint.differences_omitted == 3


def test_differences_group_by_shape_and_one_group_per_finding() -> None:
    # 19 array items with the same differing field are one group with a count, not 19 groups
    live = LiveSummary()
    for i in range(19):
        d = Difference("changed", f"$.items[{i}].completed_at", "a", "b")
        live.add(outcome(i, status=Status.MISMATCHED, differences=(d,)))
    (endpoint,) = live.summary().endpoints
    assert [(g.path, g.count) for g in endpoint.differences] == [("$.items[*].completed_at", 19)]
    # two status findings on one endpoint are two groups, each with its own count and grade
    live = LiveSummary()
    for i, (a, b) in enumerate([(200, 201)] * 5 + [(422, 400)] * 2 + [(401, 201)]):
        live.add(outcome(i, status=Status.MISMATCHED, differences=(Difference("status", "status", a, b),)))
    (endpoint,) = live.summary().endpoints
    found = {(g.detail, g.count, g.risk) for g in endpoint.differences}
    assert found == {
        ("200→201", 5, "behavioural"),
        ("422→400", 2, "behavioural"),
        ("401→201", 1, "accepts-refused"),
    }
    # a type difference's signature is its type pair
    live = LiveSummary()
    for i, (a, b) in enumerate([(None, "x"), (None, "y"), (1, "1")]):
        live.add(outcome(i, status=Status.MISMATCHED, differences=(Difference("type", "$.bio", a, b),)))
    (endpoint,) = live.summary().endpoints
    assert sorted((g.detail, g.count) for g in endpoint.differences) == [
        ("null→string", 2),
        ("number→string", 1),
    ]


# -- live and stored summaries agree

_DIFFS = [
    Difference("changed", "$.price", 1.5, "1.50"),
    Difference("added", "$.extra", None, {"a": [1, 2]}),
    Difference("removed", "$.password", "secret-pw", None),
    Difference("status", "status", 200, 500),
    Difference("header", "header:content-type", "application/json", "text/html"),
    Difference("type", "$.big", 2**70 + 1, "x"),
]
_ms = st.floats(min_value=0, max_value=5e3, allow_nan=False)


@st.composite
def _outcomes(draw: st.DrawFn) -> list[Outcome]:
    result = []
    for i in range(draw(st.integers(min_value=0, max_value=25))):
        endpoint = draw(st.sampled_from(["GET /a", "GET /b/{id}", "POST /c"]))
        status = draw(st.sampled_from(list(Status)))
        exchange = Exchange(i, "c.har", Request("GET", f"http://l/{i}", f"/{i}"))
        if status is Status.SKIPPED:
            result.append(Outcome(exchange, endpoint, status, reason="skipped"))
            continue
        legacy = Reply(200, body=b"{}", elapsed_ms=draw(_ms))
        candidate = Reply(200, body=b"{}", elapsed_ms=draw(_ms))
        if status is Status.FAILED and draw(st.booleans()):
            candidate = Reply(0, error="timeout", elapsed_ms=draw(_ms))
        diffs = tuple(draw(st.lists(st.sampled_from(_DIFFS), max_size=3, unique_by=lambda d: d.path)))
        noise = tuple(draw(st.lists(st.sampled_from(_DIFFS), max_size=2, unique_by=lambda d: d.path)))
        result.append(Outcome(exchange, endpoint, status, legacy, candidate, diffs, noise=noise))
    return result


@settings(max_examples=40, deadline=None)
@given(_outcomes(), st.integers(min_value=1, max_value=4))
def test_live_summary_agrees_with_the_stored_one(outcomes: list[Outcome], max_differences: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db", batch=7) as s:
        run_id = start(s)
        live = LiveSummary()
        for o in outcomes:
            s.add(run_id, o)
            live.add(o)
        s.finish_run(run_id, status="complete")
        stored = summarise(s, run_id, max_differences=max_differences)
        from_live = live.summary(run=s.run(run_id), max_differences=max_differences)
    assert isinstance(stored, RunSummary)
    assert stored.findings is not None and from_live.findings is None  # only the store clusters
    stored = dataclasses.replace(stored, findings=None)
    assert from_live == stored
    assert from_live.to_json() == stored.to_json()
    assert stored.total == len(outcomes) == live.total
    assert "secret-pw" not in json.dumps(stored.to_json())
