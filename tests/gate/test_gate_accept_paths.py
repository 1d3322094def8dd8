"""accept takes a difference's path as reports print it (the wire's) or normalised, and says when an entry
matches nothing; the gate notes such entries too. Real backends answering in a {success, data} envelope."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from paritycheck.errors import ExitStatus
from tests.clirun import invoke
from tests.harutil import gets, replay_args, write_har
from tests.servers import serve

UNTIL = (dt.date.today() + dt.timedelta(days=30)).isoformat()
ENDPOINT = "GET /api/orders/{id}"


def app(price: float) -> web.Application:
    async def order(request: web.Request) -> web.Response:
        data = {"id": int(request.match_info["n"]), "unitPrice": price, "weightTotal": 3}
        return web.json_response({"success": True, "data": data, "error": None})

    application = web.Application()
    application.router.add_get("/api/orders/{n}", order)
    return application


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding r.db: one run whose only difference is the unit price, inside the envelope."""
    folder = tmp_path_factory.mktemp("accept")
    har = write_har(folder / "c.har", gets("https://shop.example", [f"/api/orders/{i}" for i in range(1, 4)]))
    with serve(app(10.5)) as legacy, serve(app(10.0)) as candidate:
        args = [*replay_args(str(har), legacy, candidate), "--db", "r.db", "--no-report", "--json"]
        doc = json.loads(invoke(*args, cwd=folder).stdout)
    (group,) = next(e for e in doc["endpoints"] if e["endpoint"] == ENDPOINT)["differences"]
    assert group["path"] == "$.unit_price" and group["wire"] == {
        "legacy": "$.data.unitPrice", "candidate": "$.data.unitPrice"
    }  # fmt: skip
    yield folder


def accept(folder: Path, path: str, known: str) -> Any:
    return invoke(
        "accept", "--endpoint", ENDPOINT, "--kind", "changed", "--path", path, "--reason", "PORT-1",
        "--until", UNTIL, "--known", known, "--db", "r.db", cwd=folder,
    )  # fmt: skip


@pytest.mark.parametrize(
    "path", ["$.data.unitPrice", "$.unit_price", "$.data.unit_price", "$.unitPrice", "$.data.*"]
)
def test_the_wire_path_or_the_normalised_one_accepts_the_group(run: Path, path: str) -> None:
    known = f"k{abs(hash(path))}.toml"
    accepted = accept(run, path, known)
    assert accepted.exit_code == ExitStatus.OK and "warning" not in accepted.stderr, accepted.stderr
    gate = invoke("gate", "--db", "r.db", "--known", known, "--json", cwd=run)
    verdict = json.loads(gate.stdout)
    assert [a["path"] for a in verdict["accepted"]] == ["$.unit_price"], verdict
    assert not any("matches no difference" in n for n in verdict["notes"])


def test_an_entry_that_matches_nothing_is_warned_about_by_accept_and_the_gate(run: Path) -> None:
    accepted = accept(run, "$.data.price", "nothing.toml")
    assert accepted.exit_code == ExitStatus.OK  # written all the same: the next run may have it
    text = " ".join(accepted.stderr.split())
    assert "warning: changed $.data.price on GET /api/orders/{id} matches no difference of run 1" in text
    assert "changed $.unit_price on GET /api/orders/{id}" in text  # what it may have meant
    verdict = json.loads(invoke("gate", "--db", "r.db", "--known", "nothing.toml", "--json", cwd=run).stdout)
    assert any("accepted[0]" in n and "matches no difference of this run" in n for n in verdict["notes"])
    assert verdict["accepted"] == []
