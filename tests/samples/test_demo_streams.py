"""The demo's streams: the committed capture replays to exactly the seeded stream differences."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest

from paritycheck import capture, findings, samples
from paritycheck.config import GateConfig, load
from paritycheck.gate import evaluate
from paritycheck.report import html, model
from paritycheck.run import runner
from paritycheck.samples import record_streams
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ROOT / "captures" / "streams.har"


def test_the_recorder_writes_streams_as_a_browser_does(tmp_path: Path) -> None:
    out = tmp_path / "s.har"
    assert record_streams.main(["--out", str(out)]) == 0
    kinds = [
        (e.request.method, e.request.stream.kind if e.request.stream else None) for e in capture.read(out)
    ]
    assert kinds == [("GET", "sse"), ("POST", None), ("GET", "websocket")]


@pytest.fixture(scope="module")
def streams_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The demo streams replayed once for the module: its tests only read the run."""
    return asyncio.run(_replay_streams(tmp_path_factory.mktemp("streams")))


async def _replay_streams(tmp_path: Path) -> tuple[Path, int]:
    if not STREAMS.is_file():
        pytest.skip("the demo capture captures/streams.har is missing")
    config = load(ROOT / "paritycheck.toml")
    config = dataclasses.replace(
        config,
        replay=dataclasses.replace(config.replay, allow_writes=True),
        streams=dataclasses.replace(config.streams, idle_seconds=0.5),  # the SignalR chat is read until idle
    )
    async with samples.running(summary_delay=0) as served:
        result = await runner.replay_captures(served.config(config), [STREAMS], db=tmp_path / "r.db")
    return tmp_path / "r.db", result.run_id


def test_the_demo_streams_show_only_the_seeded_differences(streams_db: tuple[Path, int]) -> None:
    db, run_id = streams_db
    with Store.open(db, create=False) as store:
        found = {x.endpoint: sorted((d.kind, d.path) for d in x.differences) for x in store.exchanges(run_id)}
    assert found == {
        "GET /api/v1/activity/stream": [("changed", "$.count"), ("event-missing", "$.events[2]")],
        "POST /hubs/chat/negotiate": [],
        "GET /hubs/chat": [
            ("added", "$.events[0].data.arguments[0].username"),
            ("removed", "$.events[0].data.arguments[0].user"),
        ],
    }
    # Two seeded root causes, two findings: the event count follows the missing event, and the removed
    # and added keys with the same value in the same exchange are one rename.
    with Store.open(db, create=False) as store:
        found = {f.signature: f for f in findings.of_run(store, run_id)}
    assert set(found) == {"event-missing *.events[*]", "renamed user→username"}
    assert [m.path for m in found["event-missing *.events[*]"].consequences] == ["$.count"]


def test_the_html_report_shows_both_event_sequences_with_the_differing_events_marked(
    streams_db: tuple[Path, int],
) -> None:
    db, _ = streams_db
    with Store.open(db, create=False) as store:
        page = html.render_html(model.build(store))
    feed = page[page.index("/api/v1/activity/stream</h4>") :]
    feed = feed[: feed.index("raw responses")]
    legacy, candidate = feed.split('<span class="key-c">candidate</span>', 1)
    assert "goal.completed" in legacy and "goal.completed" not in candidate
    marked = re.findall(r'<span class="m">([^<]*)</span>', legacy)
    assert any("goal.completed" in line for line in marked)  # the missing event, marked on its side
    assert "Net promoter score" in candidate  # the rest of the sequence, side by side


def test_the_report_lists_stream_latency_per_side(streams_db: tuple[Path, int]) -> None:
    db, run_id = streams_db
    with Store.open(db, create=False) as store:
        report = model.build(store, run_id)
    rows = {r.endpoint: r for r in report.streams}
    assert set(rows) == {"GET /api/v1/activity/stream", "GET /hubs/chat"}
    chat = rows["GET /hubs/chat"]
    assert chat.legacy_first["p50"] is not None and chat.candidate_round_trip["p50"] is not None
    assert rows["GET /api/v1/activity/stream"].legacy_round_trip["p50"] is None  # SSE: no client messages
    assert 'id="streams"' in html.render_html(report)


def test_the_gate_judges_stream_round_trips_with_the_latency_limits(streams_db: tuple[Path, int]) -> None:
    db, run_id = streams_db
    with Store.open(db, create=False) as store:
        few = evaluate(store, run_id, GateConfig())
        judged = evaluate(store, run_id, GateConfig(min_samples=1, max_p95_ratio=1000.0, max_p95_ms=60_000.0))
    names = {(c.endpoint, c.name) for c in few.criteria}
    assert ("GET /hubs/chat", "round trip latency") in names  # one round trip: not judged, and says so
    assert ("GET /api/v1/activity/stream", "round trip latency") not in names  # SSE: no client messages
    rows = [c for c in judged.criteria if c.endpoint == "GET /hubs/chat" and c.name.startswith("round trip")]
    assert {c.name for c in rows} == {"round trip p95 ratio", "round trip p95"} and all(
        c.passed for c in rows
    )
