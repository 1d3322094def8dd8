"""Instants both backends read off their own clocks during the run are one event, not a difference."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from paritycheck.compare import RunClock, instant
from paritycheck.config import parse
from paritycheck.models import Difference
from paritycheck.noise.suggest import config_of_run, suggest
from paritycheck.run import replay_captures
from paritycheck.store import Store
from tests.harutil import gets, write_har
from tests.servers import serve


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_instants_inside_the_run_window_and_close_together_are_one_event() -> None:
    start = time.time()
    clock = RunClock(5.0, start=start)
    now = start + 60
    read_during = Difference("changed", "$.created_at", iso(start + 10), iso(start + 12))
    too_far_apart = Difference("changed", "$.updated_at", iso(start + 10), iso(start + 30))
    before_the_run = Difference("changed", "$.due_date", iso(start - 86400), iso(start - 86399))
    in_the_future = Difference("changed", "$.due_date", iso(now + 5000), iso(now + 5001))
    not_an_instant = Difference("changed", "$.name", "a", "b")
    real, clocked = clock.settle(
        (read_during, too_far_apart, before_the_run, in_the_future, not_an_instant), now=now
    )
    assert clocked == (read_during,)
    assert real == (too_far_apart, before_the_run, in_the_future, not_an_instant)
    assert RunClock(0, start=start).settle((read_during,), now=now) == ((read_during,), ())  # 0: off


def test_now_plus_a_common_lifetime_is_read_off_the_clock_too() -> None:
    """A login's ``expires_at`` (now + 1 h) or a report's ``from`` (now - 7 d), computed from each
    backend's clock during this very exchange, is one event; the same offset from anywhere else is not."""
    start = time.time()
    clock = RunClock(5.0, start=start)
    now = start + 600  # ten minutes into the run
    expires = Difference("changed", "$.expires_at", iso(now - 0.2 + 3600), iso(now - 0.1 + 3600))
    week_ago = Difference("changed", "$.from", iso(now - 7 * 86400), iso(now - 7 * 86400 + 0.5))
    # an hour after the run's *start*, not after this exchange: a stored value, one second off
    stored = Difference("changed", "$.due_date", iso(start + 3600), iso(start + 3601))
    odd_offset = Difference("changed", "$.renew_at", iso(now + 3000), iso(now + 3000.5))
    apart = Difference("changed", "$.expires_at", iso(now + 3600), iso(now + 3600 + 10))
    real, clocked = clock.settle((expires, week_ago, stored, odd_offset, apart), now=now, elapsed=0.3)
    assert clocked == (expires, week_ago)
    assert real == (stored, odd_offset, apart)


def test_instant_parsing() -> None:
    assert (
        instant("2024-05-01T10:00:00.123456+00:00") == datetime(2024, 5, 1, 10, 0, 0, 123456, UTC).timestamp()
    )
    assert instant("2024-05-01T10:00:00Z") is not None
    assert instant("2024-05-01T10:00:00") is None  # no offset: no instant
    assert instant("2024-05-01") is None and instant(5) is None and instant("soon") is None


async def test_a_replay_reports_clock_instants_as_noise_with_their_evidence(tmp_path: Path) -> None:
    def app(offset: float) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            now = datetime.now(UTC) + timedelta(seconds=offset)
            body = {"id": 1, "created_at": now.isoformat(), "due_date": "2024-01-01T00:00:00+00:00"}
            if offset:  # the port also got one stored date wrong by a second: a real difference
                body["due_date"] = "2024-01-01T00:00:01+00:00"
            return web.json_response(body)

        application = web.Application()
        application.router.add_get("/api/tasks/{id}", handler)
        return application

    capture = write_har(tmp_path / "c.har", gets("https://prod.test", ["/api/tasks/1", "/api/tasks/2"]))
    with serve(app(0)) as legacy, serve(app(2.0)) as candidate:
        config = parse(
            {"backends": {"legacy": legacy, "candidate": candidate}, "noise": {"samples": 0}}, source="test"
        )
        result = await replay_captures(config, [capture], db=tmp_path / "r.db")
    (endpoint,) = result.summary.endpoints
    assert [(g.path, g.count) for g in endpoint.differences] == [("$.due_date", 2)]
    (noise,) = endpoint.noise
    assert noise.path == "$.created_at" and noise.differed == 2 and "during the run" in noise.describe()
    with Store.open(tmp_path / "r.db", create=False) as store:
        paths = {p.path for p in store.noise_paths(result.run_id)}
        stored = [d.path for x in store.exchanges(result.run_id) for d in x.noise]
    assert paths == {"$.created_at"} and stored == ["$.created_at", "$.created_at"]
    json.dumps(result.summary.to_json())
    # suggest needs no rule for them (timestamps_tolerance classes them on every run) and says so; an
    # ignore would only hide a real difference there later
    with Store.open(tmp_path / "r.db", create=False) as store:
        found = suggest(store, result.run_id, config_of_run(store.run(result.run_id)))
    assert not [r for r in found.rules if r.key == "ignore"]
    assert any(
        n.startswith("no rule needed") and "$.created_at on GET /api/tasks/{id}" in n for n in found.notes
    )
