"""A capture and two backends for the shard tests: 120 GETs in 9 sessions (Authorization values),
some with a changed field on the candidate, some failing there; and the helpers that replay them.

:func:`noisy_capture` adds noise seen only in some shards: on ``/noisy/{n}`` the legacy's ``nonce`` is
random for the sessions of one shard only (``?flaky=1``), while the candidate's always differs (a real
difference on every exchange), and ``stamp`` is random on both (noise everywhere)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from harutil import entry, write_har
from servers import serve

from paritycheck.capture import read_fast

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 120


def _app(candidate: bool) -> web.Application:
    async def item(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if candidate and n % 11 == 0:
            return web.json_response({"error": "boom"}, status=500)
        value = n % 3 + (1 if candidate and n % 5 == 0 else 0)
        return web.json_response({"id": n, "value": value, "kind": f"k{n % 4}"})

    async def noisy(request: web.Request) -> web.Response:
        flaky = request.query.get("flaky") == "1"
        nonce = "c" if candidate else (f"{random.random()}" if flaky else "l")
        return web.json_response({"id": request.match_info["n"], "nonce": nonce, "stamp": random.random()})

    app = web.Application()
    app.router.add_get("/noisy/{n}", noisy)
    app.router.add_get("/items/{n}", item)
    app.router.add_get("/other/{n}", item)
    return app


@contextmanager
def backends() -> Iterator[tuple[str, str]]:
    """Legacy and candidate on loopback ephemeral ports."""
    with ExitStack() as stack:
        yield stack.enter_context(serve(_app(False))), stack.enter_context(serve(_app(True)))


def _entries(entries: int) -> list[dict[str, Any]]:
    kinds = ("items", "other")
    return [
        entry(
            "GET", f"http://api.test/{kinds[i % 2]}/{i}", headers=[("Authorization", f"Bearer user-{i % 9}")]
        )
        for i in range(entries)
    ]


def capture(path: Path, *, entries: int = ENTRIES) -> Path:
    return write_har(path, _entries(entries))


def replay_args(har: Path, db: object, legacy: str, candidate: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "paritycheck", "replay", str(har), "--legacy", legacy, "--candidate", candidate,
        "--db", str(db), "--no-report", "--json", *extra,
    ]  # fmt: skip


def invoke(args: list[str]) -> subprocess.CompletedProcess[str]:
    """:func:`run`'s result for the same ``python -m paritycheck`` arguments, run in this process with
    click's runner: for the tests where a shard's own process adds nothing (each starts in ~0.4 s)."""
    from click.testing import CliRunner

    from paritycheck.cli import cli

    assert args[:3] == [sys.executable, "-m", "paritycheck"], args
    done = CliRunner().invoke(cli, args[3:], env={"COLUMNS": "200"})
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception
    return subprocess.CompletedProcess(args, done.exit_code, done.stdout, done.stderr)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def noisy_capture(path: Path, *, rounds: int = 4) -> Path:
    """:data:`ENTRIES` of :func:`capture`, then ``rounds`` GETs of ``/noisy`` per session, those of one
    shard's (of 4) sessions flaky. Flaky sessions come last in each round, so that one process's first
    A/A samples of ``/noisy`` show no noise while that shard's show nothing else."""
    from paritycheck.config import Config
    from paritycheck.run.shards import Shard, Splitter

    plain = capture(path)
    users: dict[int, set[int]] = {i: set() for i in range(1, 5)}
    for i in users:
        splitter = Splitter(Config(), [plain], Shard(i, 4, "probe"))
        users[i] = {e.index % 9 for e in splitter.filter(read_fast(plain), set())}
    flaky = next(u for u in sorted(users.values(), key=len) if u)
    assert len(flaky) <= 4, users
    order = sorted(range(9), key=lambda u: (u in flaky, u))
    noisy = [
        entry(
            "GET",
            f"http://api.test/noisy/{r * 9 + u}" + ("?flaky=1" if u in flaky else ""),
            headers=[("Authorization", f"Bearer user-{u}")],
        )
        for r in range(rounds)
        for u in order
    ]
    return write_har(path, _entries(ENTRIES) + noisy)


def merged_view(db: object, run_id: int) -> dict[str, Any]:
    """What the verdicts of a run rest on: totals, difference groups, the gate, the noise paths."""
    from paritycheck.config import GateConfig
    from paritycheck.gate import evaluate, summarise
    from paritycheck.store import Store

    with Store.open(db, create=False) as store:  # type: ignore[arg-type]
        summary = summarise(store, run_id)
        verdict = evaluate(store, run_id, GateConfig())
        keys = [(x.source, x.entry) for x in store.exchanges(run_id)]
        return {
            "totals": (summary.total, summary.matched, summary.mismatched, summary.failed, summary.skipped),
            "groups": sorted((g.endpoint, g.kind, g.path, g.count) for g in store.difference_groups(run_id)),
            "verdict": (verdict.passed, [(c.name, c.state) for c in verdict.criteria if c.scope == "run"]),
            "stored": (len(keys), len(set(keys))),
            "status": store.run(run_id).status,
            # the evidence counts differ (every shard asks its own A/A samples); the paths must not
            "noise": [(p.endpoint, p.path, p.reason, p.kinds) for p in store.noise_paths(run_id)],
        }
