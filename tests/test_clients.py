"""``[replay] client`` picks the HTTP client that asks the backends: the lean one unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from paritycheck.config import parse
from paritycheck.run import replay_captures
from tests.harutil import gets, write_har
from tests.servers import serve


@pytest.mark.parametrize(
    ("client", "agent"), [(None, "paritycheck/"), ("aiohttp", "Python/"), ("httpx", "python-httpx/")]
)
async def test_the_configured_client_asks_both_backends(
    tmp_path: Path, client: str | None, agent: str
) -> None:
    agents: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        agents.append(request.headers.get("User-Agent", ""))
        return web.json_response({"id": request.match_info["tail"]})

    capture = write_har(tmp_path / "c.har", gets("https://prod.test", ["/api/a", "/api/b"]))
    replay = {} if client is None else {"client": client}
    with serve(handler) as legacy, serve(handler) as candidate:
        backends = {"legacy": legacy, "candidate": candidate}
        config = parse({"backends": backends, "replay": replay, "noise": {"samples": 0}}, source="t")
        result = await replay_captures(config, [capture], db=tmp_path / "r.db")
    assert result.summary.matched == 2
    assert len(agents) == 4 and all(a.startswith(agent) for a in agents), agents
