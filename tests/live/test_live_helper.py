"""The shadow path in a helper process: hand-off overflow, a dead helper, dying with the parent."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from paritycheck.errors import ConfigError
from paritycheck.live import LiveOptions, LiveServer
from paritycheck.live.metrics import DROPPED_LOST, DROPPED_QUEUE
from paritycheck.store import Store
from tests.live.livehelpers import backend, config, listener_process, live
from tests.live.test_live_mirror import echo


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))  # a zombie is dead


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found |= {child} | _descendants(child)
    return found


async def _get_all(port: int, n: int) -> None:
    async with httpx.AsyncClient() as client:
        for i in range(n):
            r = await client.get(f"http://127.0.0.1:{port}/items/{i}")
            assert r.json() == {"item": f"items/{i}", "price": 1}  # the legacy's answer


async def test_a_full_channel_drops_and_counts_and_every_total_reconciles(tmp_path: Path) -> None:
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", admin="127.0.0.1:0") as server,
    ):
        assert server.helper is not None
        await _get_all(server.port, 5)
        server.helper.limit = 0  # the helper "behind": copies become drop notices
        await _get_all(server.port, 4)
        server.helper.hard_limit = 0  # far behind: not even notices; listed, stored once it catches up
        await _get_all(server.port, 3)
        server.helper.limit = server.helper.hard_limit = 1 << 24
        await _get_all(server.port, 2)  # caught up: the lost count goes first
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                status = (await client.get(f"http://127.0.0.1:{server.admin_port}/status")).json()
                if status["totals"]["seen"] == 14:
                    break
                await asyncio.sleep(0.05)
            metrics = (await client.get(f"http://127.0.0.1:{server.admin_port}/metrics")).text
        run_id = await server.stop()
    t = server.metrics.totals
    assert (t.seen, t.shadowed, t.dropped) == (14, 7, 7)
    assert t.reasons == {DROPPED_QUEUE: 4, DROPPED_LOST: 3}
    assert status["totals"]["seen"] == 14
    assert "paritycheck_live_dropped_total 7.0" in metrics
    with Store.open(tmp_path / "s.db", create=False) as store:
        info = store.run(run_id)
        assert (info.status, info.total, info.skipped) == ("complete", 14, 7)  # every request in the window
        lost = [x for x in store.exchanges(run_id, outcome="skipped") if x.reason == DROPPED_LOST]
    assert [(x.method, x.url.rsplit("/", 2)[-2:]) for x in lost] == [
        ("GET", ["items", str(i)]) for i in range(3)
    ]


async def test_a_dead_helper_costs_clients_nothing_and_its_requests_are_counted(tmp_path: Path) -> None:
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db") as server,
    ):
        assert server.helper is not None
        await _get_all(server.port, 3)
        for _ in range(100):
            if server.metrics.totals.seen == 3:
                break
            await asyncio.sleep(0.05)
        server.helper.child.process.kill()
        for _ in range(100):
            if not server.helper.alive:
                break
            await asyncio.sleep(0.05)
        await _get_all(server.port, 4)  # still served, straight from the legacy
        await server.stop()
    t = server.metrics.totals
    assert (t.seen, t.shadowed, t.dropped) == (7, 3, 4)
    assert t.seen == t.shadowed + t.skipped + t.dropped


async def test_the_shadow_side_can_still_run_in_process(tmp_path: Path) -> None:
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", shadow_in_child=False) as server,
    ):
        assert server.helper is None
        await _get_all(server.port, 10)
        run_id = await server.stop()
    assert (server.metrics.totals.seen, server.metrics.totals.mismatched) == (10, 1)
    assert server.closed == [run_id]


async def test_an_admin_port_in_use_is_a_one_line_config_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = config("http://127.0.0.1:9", "http://127.0.0.1:10")
        server = LiveServer(cfg, LiveOptions(mode="mirror", listen="127.0.0.1:0", db=tmp_path / "s.db",
                                             admin=f"127.0.0.1:{port}"))  # fmt: skip
        with pytest.raises(ConfigError, match=f"--admin 127.0.0.1:{port}"):
            await server.start()


@pytest.mark.skipif(
    not Path(f"/proc/self/task/{os.getpid()}/children").exists(), reason="needs /proc/PID/task/TID/children"
)
async def test_the_helper_dies_with_a_killed_parent(tmp_path: Path) -> None:
    async with backend(echo("legacy", [])) as legacy, backend(echo("candidate", [])) as candidate:
        proc, port = await listener_process("proxy", legacy, candidate, db=tmp_path / "s.db", cwd=tmp_path)
        await _get_all(port, 2)
        children = _descendants(proc.pid)
        assert len(children) >= 2, "the proxy's helper process and the helper's store writer"
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        for _ in range(100):
            if not any(_alive(pid) for pid in children):
                break
            await asyncio.sleep(0.05)
        assert not any(_alive(pid) for pid in children)


@pytest.mark.parametrize("mode", ["mirror", "proxy"])
async def test_the_capture_holds_what_the_listener_dropped_but_not_what_it_lost(
    tmp_path: Path, mode: str
) -> None:
    from paritycheck.capture import read

    out = tmp_path / "live.jsonl"
    async with (
        backend(echo("legacy", [])) as legacy,
        backend(echo("candidate", [])) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", mode=mode, record=out) as server,
        httpx.AsyncClient() as client,
    ):
        assert server.helper is not None
        url = f"http://127.0.0.1:{server.port}"
        await client.get(f"{url}/items/1", headers={"Authorization": "Bearer s3cret"})
        server.helper.limit = 0  # the helper behind: dropped (not shadowed) but still recorded
        await client.get(f"{url}/items/2")
        server.helper.hard_limit = 0  # far behind: only counted, as lost
        await client.get(f"{url}/items/3")
        server.helper.limit = server.helper.hard_limit = 1 << 24
        await client.post(f"{url}/orders", content=b'{"n": 1}')  # a write: recorded, not shadowed
        await server.stop()
    recorded = list(read(out))
    assert [(e.request.method, e.request.path) for e in recorded] == [
        ("GET", "/items/1"),
        ("GET", "/items/2"),
        ("POST", "/orders"),
    ]
    if mode == "proxy":  # with the answer the client got
        assert recorded[1].recorded is not None and recorded[1].recorded.status == 200
        assert b"items/2" in recorded[1].recorded.body
    assert "s3cret" not in out.read_text(encoding="utf-8")
    t = server.metrics.totals
    assert (t.seen, t.shadowed, t.skipped, t.dropped) == (4, 1, 1, 2)
    assert t.reasons[DROPPED_QUEUE] == 1 and t.reasons[DROPPED_LOST] == 1
