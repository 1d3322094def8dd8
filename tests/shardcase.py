"""A capture and two backends for the shard tests: 120 GETs in 9 sessions (Authorization values),
some with a changed field on the candidate, some failing there; and the helpers that replay them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiohttp import web
from harutil import entry, write_har
from servers import serve

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 120


def _app(candidate: bool) -> web.Application:
    async def item(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if candidate and n % 11 == 0:
            return web.json_response({"error": "boom"}, status=500)
        value = n % 3 + (1 if candidate and n % 5 == 0 else 0)
        return web.json_response({"id": n, "value": value, "kind": f"k{n % 4}"})

    app = web.Application()
    app.router.add_get("/items/{n}", item)
    app.router.add_get("/other/{n}", item)
    return app


@contextmanager
def backends() -> Iterator[tuple[str, str]]:
    """Legacy and candidate on loopback ephemeral ports."""
    with ExitStack() as stack:
        yield stack.enter_context(serve(_app(False))), stack.enter_context(serve(_app(True)))


def capture(path: Path, *, entries: int = ENTRIES) -> Path:
    kinds = ("items", "other")
    return write_har(
        path,
        [
            entry(
                "GET",
                f"http://api.test/{kinds[i % 2]}/{i}",
                headers=[("Authorization", f"Bearer user-{i % 9}")],
            )
            for i in range(entries)
        ],
    )


def replay_args(har: Path, db: object, legacy: str, candidate: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "paritycheck", "replay", str(har), "--legacy", legacy, "--candidate", candidate,
        "--db", str(db), "--no-report", "--json", *extra,
    ]  # fmt: skip


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
