"""``[auth]`` logins (per backend, again after a 401) and ``reset`` commands, through the real runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from paritycheck import samples
from paritycheck.config import parse
from paritycheck.errors import BackendError, ConfigError
from paritycheck.run import runner
from paritycheck.samples import data, record
from paritycheck.session import run_reset
from paritycheck.store import Store
from tests.servers import serve


def token_server(prefix: str) -> tuple[web.Application, dict[str, Any]]:
    """A backend whose tokens expire whenever the test says so; it counts its logins."""
    state: dict[str, Any] = {"logins": 0, "valid": None}

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"user": "ana", "password": "s3cret"}:
            return web.json_response({"error": "bad credentials"}, status=401)
        state["logins"] += 1
        state["valid"] = f"{prefix}-{state['logins']}"
        return web.json_response({"success": True, "data": {"accessToken": state["valid"]}})

    async def things(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {state['valid']}":
            return web.json_response({"error": "expired"}, status=401)
        if request.query.get("expire"):
            state["valid"] = None  # this answer is the last one the token gets
        return web.json_response({"things": [1, 2]})

    app = web.Application()
    app.router.add_post("/login", login)
    app.router.add_get("/things", things)
    return app, state


def capture(tmp_path: Path, targets: list[str]) -> Path:
    entries = [
        {
            "startedDateTime": "2024-05-01T10:00:00.000Z",
            "time": 1,
            "request": {"method": "GET", "url": f"http://legacy{t}", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Authorization", "value": "Bearer captured-token"}],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                         "cookies": [], "content": {"size": 0, "mimeType": "application/json", "text": ""},
                         "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        }
        for t in targets
    ]  # fmt: skip
    path = tmp_path / "c.har"
    path.write_text(
        json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}})
    )
    return path


AUTH = {
    "path": "/login",
    "body": {"user": "ana", "password": "${PC_TEST_PASSWORD}"},
    "token": "$.access_token",
}


async def test_auth_logs_in_per_backend_and_again_after_a_401(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PC_TEST_PASSWORD", "s3cret")
    legacy_app, legacy = token_server("L")
    candidate_app, candidate = token_server("C")
    har = capture(tmp_path, ["/things", "/things?expire=1", "/things"])
    with serve(legacy_app) as legacy_url, serve(candidate_app) as candidate_url:
        config = parse({"backends": {"legacy": legacy_url, "candidate": candidate_url}, "auth": AUTH,
                        "replay": {"concurrency": 1}, "noise": {"samples": 0}}, source="t")  # fmt: skip
        result = await runner.replay_captures(config, [har], db=tmp_path / "r.db")
    assert result.summary.matched == 3, result.summary.to_json()
    assert legacy["logins"] == candidate["logins"] == 2  # at start, and after the expired token's 401
    with Store.open(tmp_path / "r.db", create=False) as store:
        assert store.run(result.run_id).meta["sessions"]["logins"] == {"legacy": 2, "candidate": 2}


async def test_auth_against_strict_samples_replays_the_read_only_demo(tmp_path: Path) -> None:
    # The captured token is the legacy's own: without [auth] the (strict) candidate rejects it.
    har = tmp_path / "auth.har"
    record.write_har(await record.record(), har)
    auth = {"path": "/api/v1/auth/login", "body": {"email": data.DEMO_EMAIL, "password": data.DEMO_PASSWORD}}
    async with samples.running(summary_delay=0, strict_auth=True) as s:
        base = {"backends": {"legacy": s.legacy_url, "candidate": s.candidate_url}}
        plain = await runner.replay_captures(parse(base, source="t"), [har], db=tmp_path / "a.db")
        logged = await runner.replay_captures(
            parse({**base, "auth": auth}, source="t"), [har], db=tmp_path / "b.db"
        )

    def statuses(db: Path, run_id: int) -> set[tuple[int, int]]:
        with Store.open(db, create=False) as store:
            return {
                (x.legacy.status, x.candidate.status)
                for x in store.exchanges(run_id, endpoint="GET /api/v1/kpis")
                if x.legacy is not None and x.candidate is not None
            }

    assert statuses(tmp_path / "a.db", plain.run_id) == {(200, 401)}
    assert statuses(tmp_path / "b.db", logged.run_id) == {(200, 200)}


async def test_a_login_without_a_token_is_a_backend_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PC_TEST_PASSWORD", "wrong")
    app, _ = token_server("L")
    with serve(app) as url:
        config = parse({"backends": {"legacy": url, "candidate": url}, "auth": AUTH}, source="t")
        with pytest.raises(BackendError, match=r"legacy: \[auth\] login POST /login answered 401"):
            await runner.replay_captures(config, [capture(tmp_path, ["/things"])], db=tmp_path / "r.db")


def test_unset_environment_reference_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PC_TEST_PASSWORD", raising=False)
    from paritycheck.replay import Engine, make_transport
    from paritycheck.session import SessionReplay

    config = parse({"backends": {"legacy": "http://127.0.0.1:9", "candidate": "http://127.0.0.1:9"},
                    "auth": AUTH}, source="p.toml")  # fmt: skip
    engine = Engine(legacy=config.backends.legacy, candidate=config.backends.candidate,
                    transport=make_transport("httpx", concurrency=1), timeout=1)  # fmt: skip
    with pytest.raises(ConfigError, match=r"p.toml: auth.body.password refers to \$\{PC_TEST_PASSWORD\}"):
        SessionReplay(config, engine)


async def test_reset_records_exit_status_and_output_tail() -> None:
    ok = await run_reset(
        "legacy", "echo reset $PARITYCHECK_SIDE $PARITYCHECK_BACKEND_URL", url="http://x", timeout=10
    )
    assert ok.ok and ok.exit_status == 0 and ok.output_tail.strip() == "reset legacy http://x"
    bad = await run_reset("candidate", f"{sys.executable} -c 'print(\"x\" * 5000); raise SystemExit(3)'",
                          url="http://x", timeout=10)  # fmt: skip
    assert not bad.ok and bad.exit_status == 3 and len(bad.output_tail) <= 2000
    slow = await run_reset("legacy", "sleep 30", url="http://x", timeout=0.2)
    assert slow.timed_out and not slow.ok


async def test_reset_runs_before_the_replay_and_a_failing_one_stops_it(tmp_path: Path) -> None:
    async with samples.running(summary_delay=0) as s:
        reset = f"{sys.executable} -m paritycheck.samples reset"
        backends = {"legacy": {"url": s.legacy_url, "reset": reset},
                    "candidate": {"url": s.candidate_url, "reset": reset}}  # fmt: skip
        har = tmp_path / "auth.har"
        record.write_har(await record.record(), har)
        config = parse({"backends": backends, "replay": {"allow_writes": True}}, source="t")
        await runner.replay_captures(config, [har], db=tmp_path / "r.db")
        second = await runner.replay_captures(config, [har], db=tmp_path / "r.db")
        # Fresh state: the second run's sign-up creates the account again (201) on both, not a 409.
        with Store.open(tmp_path / "r.db", create=False) as store:
            (register,) = store.exchanges(second.run_id, endpoint="POST /api/v1/auth/register")
        assert register.legacy is not None and register.candidate is not None
        assert register.legacy.status == register.candidate.status == 201
        with Store.open(tmp_path / "r.db", create=False) as store:
            resets = store.run(second.run_id).meta["sessions"]["resets"]
        assert [(r["side"], r["exit_status"]) for r in resets] == [("legacy", 0), ("candidate", 0)]
        failing = {**backends, "candidate": {"url": s.candidate_url, "reset": "exit 7"}}
        with pytest.raises(BackendError, match="reset of the candidate backend exited with status 7"):
            await runner.replay_captures(
                parse({"backends": failing}, source="t"), [har], db=tmp_path / "r.db"
            )
        with Store.open(tmp_path / "r.db", create=False) as store:
            run = store.run(store.latest_run_id())
        assert run.meta["sessions"]["resets"][1]["exit_status"] == 7 and run.total == 0
