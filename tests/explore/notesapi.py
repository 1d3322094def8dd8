"""The Notes API of tests/data/openapi/features/notes-api.yaml, served under /api/v2 as a legacy and a port.

Each backend issues its own login tokens (``Authorization: Token <side>-<user>``) and accepts only its
own API keys and session cookie, so a request passes authentication only with that backend's own
credentials. The port has one seeded difference: it accepts a ``limit`` above 50.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.servers import serve

SPEC = Path(__file__).resolve().parents[1] / "data" / "openapi" / "features" / "notes-api.yaml"
BASE = "/api/v2"
#: Per backend: (API key, session cookie). The token is issued by the backend's own login.
KEYS = {"legacy": ("legacy-key-1", "legacy-session-1"), "candidate": ("port-key-9", "port-session-9")}


@dataclass
class Notes:
    """One backend: what it received (method, path, query, headers) for the tests to inspect."""

    side: str
    url: str = ""
    #: (method, path, query, headers with lower-case names) of every request received.
    seen: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        key, session = KEYS[self.side]
        notes: dict[int, str] = {1: "first"}

        @web.middleware
        async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.seen.append((request.method, request.path, request.query_string, headers))
            return await handler(request)

        def token_ok(request: web.Request) -> bool:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            return scheme == "Token" and token.startswith(f"{self.side}-")

        async def login(request: web.Request) -> web.Response:
            try:
                user = (await request.json())["user"]
            except (ValueError, KeyError, TypeError):
                return web.json_response({"error": "user required"}, status=400)
            return web.json_response({"token": f"{self.side}-{user}"})

        async def list_notes(request: web.Request) -> web.Response:
            if not token_ok(request):
                return web.json_response({"error": "unauthorized"}, status=401)
            limit = request.query.get("limit", "10")
            top = 1000 if self.side == "candidate" else 50  # the port forgot the bound
            if not limit.isdigit() or not 1 <= int(limit) <= top:
                return web.json_response({"error": "bad limit"}, status=400)
            return web.json_response({"items": [{"id": k, "text": v} for k, v in notes.items()]})

        async def create(request: web.Request) -> web.Response:
            if not token_ok(request):
                return web.json_response({"error": "unauthorized"}, status=401)
            try:
                text = (await request.json())["text"]
            except (ValueError, KeyError, TypeError):
                return web.json_response({"error": "text required"}, status=400)
            notes[len(notes) + 1] = str(text)
            return web.json_response({"id": len(notes), "text": text}, status=201)

        async def one(request: web.Request) -> web.Response:
            if request.query.get("api_key") != key:
                return web.json_response({"error": "unauthorized"}, status=401)
            raw = request.match_info["id"]
            if not raw.isdigit() or int(raw) not in notes:
                return web.json_response({"error": "not found"}, status=404)
            return web.json_response({"id": int(raw), "text": notes[int(raw)]})

        async def stats(request: web.Request) -> web.Response:
            if request.headers.get("X-API-Key") != key:
                return web.json_response({"error": "unauthorized"}, status=401)
            return web.json_response({"notes": len(notes)})

        async def me(request: web.Request) -> web.Response:
            if request.cookies.get("notes_session") != session:
                return web.json_response({"error": "unauthorized"}, status=401)
            return web.json_response({"user": "ann"})

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        app = web.Application(middlewares=[record])
        app.router.add_post(f"{BASE}/login", login)
        app.router.add_get(f"{BASE}/notes", list_notes)
        app.router.add_post(f"{BASE}/notes", create)
        app.router.add_get(f"{BASE}/notes/{{id}}", one)
        app.router.add_get(f"{BASE}/stats", stats)
        app.router.add_get(f"{BASE}/me", me)
        app.router.add_get(f"{BASE}/health", health)
        return app


@contextmanager
def notes_backends() -> Iterator[tuple[Notes, Notes]]:
    legacy, candidate = Notes("legacy"), Notes("candidate")
    with serve(legacy.app()) as legacy.url, serve(candidate.app()) as candidate.url:
        yield legacy, candidate


def settings(legacy: Notes, candidate: Notes, **more: object) -> dict[str, object]:
    """The configuration a user writes: each backend's keys, and a login for the Token scheme."""
    keys = {side: KEYS[side] for side in ("legacy", "candidate")}
    return {
        "backends": {"legacy": legacy.url, "candidate": candidate.url},
        "replay": {"concurrency": 4},
        "auth": {"path": f"{BASE}/login", "body": {"user": "ann"}, "token": "$.token"},
        "explore": {
            "credentials": {
                "apiKeyHeader": {"legacy": keys["legacy"][0], "candidate": keys["candidate"][0]},
                "apiKeyQuery": {"legacy": keys["legacy"][0], "candidate": keys["candidate"][0]},
                "sessionCookie": {"legacy": keys["legacy"][1], "candidate": keys["candidate"][1]},
            }
        },
        **more,
    }
