"""The listeners as real processes: SIGTERM drains, closes the window as a complete run, exits 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from paritycheck.store import Store
from tests.live.livehelpers import backend, listener_process
from tests.live.test_live_mirror import echo


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_the_proxy_with_a_complete_run(tmp_path: Path, sig: signal.Signals) -> None:
    async with backend(echo("legacy", [])) as legacy, backend(echo("candidate", [])) as candidate:
        proc, port = await listener_process("proxy", legacy, candidate, db=tmp_path / "s.db", cwd=tmp_path)
        assert proc.stderr is not None
        async with httpx.AsyncClient() as client:
            for i in range(20):
                r = await client.get(f"http://127.0.0.1:{port}/items/{i}")
                assert r.json() == {"item": f"items/{i}", "price": 1}
        proc.send_signal(sig)
        rest = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
        assert await proc.wait() == 0, rest
    assert "20 seen = 20 shadowed" in rest
    with Store.open(tmp_path / "s.db", create=False) as store:
        run = store.run(store.latest_run_id())
    assert (run.status, run.total, run.mismatched) == ("complete", 20, 2)
    # the runs as reports read them, noise classed, beside the counts as compared when shadowed
    assert f"({run.matched} matched, 2 mismatched once each window's noise was classed)" in " ".join(
        rest.split()
    )


def test_same_backend_twice_exits_2(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "paritycheck", "mirror", "--listen", "127.0.0.1:0",
         "--legacy", "http://127.0.0.1:5000", "--candidate", "http://127.0.0.1:5000/"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "same backend" in proc.stderr
    assert "Traceback" not in proc.stderr
