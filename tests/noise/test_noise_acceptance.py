"""Issue acceptance with real loopback backends: noise learned from one legacy, real bugs kept."""

from __future__ import annotations

import json
import secrets
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.clirun import invoke
from tests.harutil import gets, replay_args, write_har
from tests.servers import serve

SESSION = "GET /api/session/{id}"
OTHER = "GET /api/other/{id}"
NOISE = {"$.token", "$.request_id", "$.now"}


def app(*, bug: bool) -> web.Application:
    """A backend answering fresh tokens, request ids and times; ``bug`` breaks two stable fields."""

    async def session(request: web.Request) -> web.Response:
        user = {"id": int(request.match_info["n"]), "name": "Ann", "balance": 10.0 if bug else 10.5}
        return web.json_response(
            {
                "token": secrets.token_hex(16),
                "request_id": str(uuid.uuid4()),
                "now": datetime.now(UTC).isoformat(),
                "user": user,
            }
        )

    async def other(request: web.Request) -> web.Response:
        # request_id is stable here: a difference on it is a bug, whatever it is on /api/session.
        n = request.match_info["n"]
        return web.json_response({"request_id": f"other-{n}" + ("-x" if bug else ""), "n": int(n)})

    application = web.Application()
    application.router.add_get("/api/session/{n}", session)
    application.router.add_get("/api/other/{n}", other)
    return application


@contextmanager
def backends(*, bug: bool) -> Iterator[tuple[str, str]]:
    with serve(app(bug=False)) as legacy, serve(app(bug=bug)) as candidate:
        yield legacy, candidate


def capture(tmp_path: Path) -> Path:
    paths = [f"/api/session/{i}" for i in range(1, 13)] + [f"/api/other/{i}" for i in range(1, 7)]
    return write_har(tmp_path / "c.har", gets("https://prod.example.com", paths))


def replay(tmp_path: Path, legacy: str, candidate: str, *extra: str) -> dict[str, Any]:
    db = str(tmp_path / "r.db")
    args = [*replay_args(str(capture(tmp_path)), legacy, candidate), "--db", db]
    result = invoke(*args, *extra, "--json", cwd=tmp_path)
    doc: dict[str, Any] = json.loads(result.stdout)
    doc["exit_code"] = result.exit_code
    return doc


def endpoint(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in doc["endpoints"] if e["endpoint"] == name)


def test_faithful_port_is_at_parity_and_the_noise_is_listed(tmp_path: Path) -> None:
    with backends(bug=False) as (legacy, candidate):
        doc = replay(tmp_path, legacy, candidate)
    assert doc["exit_code"] == 0
    assert doc["parity"] == 100.0 and doc["mismatched"] == 0
    session = endpoint(doc, SESSION)
    assert {n["path"] for n in session["noise"]} == NOISE
    assert all(n["samples"] == 5 and n["differed"] >= 4 for n in session["noise"])
    assert session["differences"] == []
    assert endpoint(doc, OTHER)["noise"] == []

    listed = invoke("noise", "--db", str(tmp_path / "r.db"), cwd=tmp_path)
    assert listed.exit_code == 0
    for path in NOISE:
        assert f"{SESSION}  {path}  " in listed.output


def test_terminal_summary_says_what_was_ignored_as_noise(tmp_path: Path) -> None:
    with backends(bug=False) as (legacy, candidate):
        db = str(tmp_path / "r.db")
        args = [*replay_args(str(capture(tmp_path)), legacy, candidate), "--db", db]
        result = invoke(*args, cwd=tmp_path)
    assert result.exit_code == 0
    (line,) = [line for line in result.output.splitlines() if "ignored as noise" in line]
    assert line.startswith(f"{SESSION}: ignored as noise (") and "legacy re-asks differed" in line
    for path in NOISE:
        assert path in line


def test_a_seeded_bug_on_a_stable_field_is_reported_on_every_exchange(tmp_path: Path) -> None:
    with backends(bug=True) as (legacy, candidate):
        doc = replay(tmp_path, legacy, candidate)
    assert doc["exit_code"] == 1
    session = endpoint(doc, SESSION)
    assert session["mismatched"] == session["total"] == 12
    balance = [d for d in session["differences"] if d["path"] == "$.user.balance"]
    assert balance and balance[0]["count"] == 12
    assert {n["path"] for n in session["noise"]} == NOISE, "the noise is still learned next to the bug"
    # Noisy on /api/session, stable on /api/other: reported there on every exchange.
    other = endpoint(doc, OTHER)
    assert other["mismatched"] == other["total"] == 6
    assert [d["path"] for d in other["differences"]] == ["$.request_id"]
    assert other["noise"] == []


def test_noise_learning_off_reports_the_noise(tmp_path: Path) -> None:
    (tmp_path / "paritycheck.toml").write_text("[noise]\nsamples = 0\n")
    with backends(bug=False) as (legacy, candidate):
        doc = replay(tmp_path, legacy, candidate)
    assert doc["exit_code"] == 1
    session = endpoint(doc, SESSION)
    # without A/A calibration the token and request id are reported; `now`, read off each backend's
    # clock during the run, is still noise (timestamps_tolerance), with its evidence
    assert {d["path"] for d in session["differences"]} == NOISE - {"$.now"}
    assert [n["path"] for n in session["noise"]] == ["$.now"]


def test_suggested_rules_hold_without_noise_learning_and_keep_the_bug(tmp_path: Path) -> None:
    with backends(bug=True) as (legacy, candidate):
        first = replay(tmp_path, legacy, candidate)
        toml = invoke("suggest", "--db", str(tmp_path / "r.db"), cwd=tmp_path).output
        rules = tomllib.loads(toml)
        (block,) = rules["endpoint"]
        assert block["match"] == SESSION, "noise of one endpoint is ignored on that endpoint only"
        assert NOISE - {"$.now"} <= set(block["ignore"]) <= NOISE
        assert "$.user.balance" not in toml and "request_id" not in str(rules["normalise"]["ignore"])
        (tmp_path / "paritycheck.toml").write_text(toml + "\n[noise]\nsamples = 0\n")
        doc = replay(tmp_path, legacy, candidate)
    session = endpoint(doc, SESSION)
    assert [d["path"] for d in session["differences"]] == ["$.user.balance"]
    assert session["mismatched"] == 12
    assert [d["path"] for d in endpoint(doc, OTHER)["differences"]] == ["$.request_id"]
    # The headline speaks in the run's own counts, and what it predicts is what the next run reports.
    line = f"# The run reported {first['mismatched']} mismatched exchanges; with these rules"
    assert f"{line} {doc['mismatched']} still would be" in toml
