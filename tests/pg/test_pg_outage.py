"""A PostgreSQL outage mid-run stops the run at once, with an error that names the outage (issue 23).

It used to go unnoticed for a minute while requests kept going to the backends (the writer child told
its error only at the run's end), then exit 2 with a hint about free disk space. The server here is
the suite's own kind (tests/pgserver.py) but private to this module, since the test stops it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paritycheck.common import aio
from paritycheck.config import Backend, Backends, Config
from paritycheck.errors import ExitStatus, StoreUnavailable
from paritycheck.models import Outcome
from paritycheck.run import replay_captures, runner
from tests.harutil import entry, write_har
from tests.pgserver import PostgresServer, running_server
from tests.servers import json_serve

ENTRIES = 4000


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with running_server("paritycheck-pg-outage-") as pg:
        pg.stop()  # each test starts it
        yield pg


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "writer-child"])
def test_an_outage_mid_run_stops_it_at_once_naming_the_outage(
    tmp_path: Path, server: PostgresServer, in_child: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.restart()  # stopped by the test before
    dsn = server.database()
    if in_child:  # the writer child, as on long runs (it used to keep its error until the run's end)
        monkeypatch.setattr(runner, "OFFLOAD_MIN_BYTES", 0)
    har = write_har(tmp_path / "c.har", [entry("GET", f"http://api.test/items/{i}") for i in range(ENTRIES)])
    seen = 0
    stopped_at: list[float] = []

    def stop() -> None:
        server.stop()  # pg_ctl -m immediate: the server is gone at once
        stopped_at.append(time.monotonic())

    def on_outcome(_: Outcome) -> None:
        nonlocal seen
        seen += 1
        if seen == 600:  # mid-run, with the writer (and its child) long connected
            threading.Thread(target=stop).start()

    with json_serve(delay=0.002) as legacy, json_serve(delay=0.002) as candidate:
        backends = Backends(legacy=Backend(url=legacy.url), candidate=Backend(url=candidate.url))
        config = Config(backends=backends)
        with pytest.raises(StoreUnavailable) as info:
            aio.run(replay_captures(config, [har], db=dsn, on_outcome=on_outcome))  # type: ignore[arg-type]
        failed_at = time.monotonic()
        sent = len(legacy.requests)
    assert stopped_at, "the server was never stopped"
    stop_time = stopped_at[0]
    message = str(info.value)
    assert message.startswith("lost the connection to PostgreSQL at postgresql://") and "\n" not in message
    assert "disk" not in (info.value.hint or "") and "--resume" in (info.value.hint or "")
    assert info.value.exit_status == ExitStatus.FAILURE
    # Stopped within a few seconds of the outage, far from the end of the capture.
    assert failed_at - stop_time < 5
    assert sent < ENTRIES / 2
