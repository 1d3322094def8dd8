"""The demo's streams: the committed capture replays to exactly the seeded stream differences."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paritycheck import capture, samples
from paritycheck.config import load
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


async def test_the_demo_streams_show_only_the_seeded_differences(tmp_path: Path) -> None:
    if not STREAMS.is_file():
        pytest.skip("the demo capture captures/streams.har is missing")
    config = load(ROOT / "paritycheck.toml")
    config = dataclasses.replace(config, replay=dataclasses.replace(config.replay, allow_writes=True))
    served = await samples.start(summary_delay=0)
    try:
        backends = dataclasses.replace(
            config.backends,
            legacy=dataclasses.replace(config.backends.legacy, url=served.legacy_url),
            candidate=dataclasses.replace(config.backends.candidate, url=served.candidate_url),
        )
        result = await runner.replay_captures(
            dataclasses.replace(config, backends=backends), [STREAMS], db=tmp_path / "r.db"
        )
    finally:
        await served.close()
    with Store.open(tmp_path / "r.db", create=False) as store:
        found = {
            x.endpoint: sorted((d.kind, d.path) for d in x.differences)
            for x in store.exchanges(result.run_id)
        }
    assert found == {
        "GET /api/v1/activity/stream": [("changed", "$.count"), ("event-missing", "$.events[2]")],
        "POST /hubs/chat/negotiate": [],
        "GET /hubs/chat": [
            ("added", "$.events[0].data.arguments[0].username"),
            ("removed", "$.events[0].data.arguments[0].user"),
        ],
    }
