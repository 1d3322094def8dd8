"""Verdicts do not change from one replay of a capture to the next, even when tokens collide in a second.

Two real backends sign a JWT per login with one-second resolution (``iat`` in whole seconds). The legacy's
token holds only the user and the second, so two logins by one user within a second get equal tokens;
the port adds a ``jti``, so its tokens never repeat. The captured tokens (recorded minutes apart) are all
distinct. Each backend's token is its own answer for the captured one: no ``token`` difference, whether
the replay's logins fall in one second or straddle two.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from paritycheck.config import parse
from paritycheck.run import runner
from tests.harutil import entry, write_har
from tests.servers import serve


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def verified(token: str, secret: bytes) -> dict[str, Any] | None:
    head, _, rest = token.partition(".")
    body, _, mac = rest.partition(".")
    good = _b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(good, mac):
        return None
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


def backend(secret: bytes, *, jti: bool, plan: str) -> web.Application:
    """Login signs a token of whole seconds; /me and /notes need it. ``plan`` is the seeded difference."""
    notes = iter(range(1, 10_000))

    async def login(request: web.Request) -> web.Response:
        user = (await request.json())["user"]
        claims: dict[str, Any] = {"sub": user, "iat": int(time.time())}
        if jti:
            claims["jti"] = uuid.uuid4().hex
        return web.json_response({"token": sign(claims, secret), "user": user}, status=201)

    def claims_of(request: web.Request) -> dict[str, Any] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return verified(token, secret) if scheme == "Bearer" else None

    async def me(request: web.Request) -> web.Response:
        claims = claims_of(request)
        if claims is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"user": claims["sub"], "plan": plan})

    async def note(request: web.Request) -> web.Response:
        claims = claims_of(request)
        if claims is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        text = (await request.json())["text"]
        return web.json_response({"id": next(notes), "owner": claims["sub"], "text": text}, status=201)

    app = web.Application()
    app.router.add_post("/login", login)
    app.router.add_get("/me", me)
    app.router.add_post("/notes", note)
    return app


def capture(path: Path) -> Path:
    """Logins by two users, each followed by reads and a write with its token, recorded minutes apart."""
    secret, start, entries = b"recorded", 1_767_225_600, []
    for i in range(8):
        user = ("ann", "bob")[i % 2]
        token = sign({"sub": user, "iat": start + 97 * i}, secret)
        auth = [("Authorization", f"Bearer {token}")]
        base = "http://api.example"
        entries += [
            entry("POST", f"{base}/login", body=json.dumps({"user": user}), status=201,
                  response=json.dumps({"token": token, "user": user})),
            entry("GET", f"{base}/me", headers=auth, response=json.dumps({"user": user, "plan": "pro"})),
            entry("POST", f"{base}/notes", headers=auth, body=json.dumps({"text": f"n{i}"}), status=201,
                  response=json.dumps({"id": 40 + i, "owner": user, "text": f"n{i}"})),
        ]  # fmt: skip
    return write_har(path, entries)


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[str, str]]:
    with (
        serve(backend(b"legacy-key", jti=False, plan="pro")) as legacy,
        serve(backend(b"port-key", jti=True, plan="Pro")) as candidate,
    ):
        yield legacy, candidate


def groups(summary: dict[str, Any]) -> dict[tuple[str, str, str], int]:
    return {
        (e["endpoint"], d["kind"], d["path"]): d["count"]
        for e in summary["endpoints"]
        for d in e["differences"]
    }


async def test_five_replays_of_one_capture_find_the_same_groups(
    backends: tuple[str, str], tmp_path: Path
) -> None:
    legacy, candidate = backends
    har = capture(tmp_path / "logins.har")
    config = parse(
        {"backends": {"legacy": legacy, "candidate": candidate}, "replay": {"allow_writes": True}},
        source="test",
    )
    seen = []
    for i in range(5):
        result = await runner.replay_captures(config, [har], db=tmp_path / f"r{i}.db")
        summary = result.summary.to_json()
        assert summary["failed"] == 0 and summary["skipped"] == 0
        seen.append(groups(summary))
    # Only the seeded difference, in every run: the tokens are each backend's own, never a difference.
    assert seen == [{("GET /me", "changed", "$.plan"): 8}] * 5
