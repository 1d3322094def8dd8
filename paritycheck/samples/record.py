"""Record captures/auth.har: a front-end session against the legacy sample, exported as HAR 1.2.

``python -m paritycheck.samples.record --out captures/auth.har`` starts the legacy sample on a free
loopback port, plays the session over real HTTP with httpx and writes the HAR a browser's "Save all as
HAR" would give. URLs and Host/Origin/Referer are rewritten to the legacy URL of paritycheck.toml
(http://127.0.0.1:5000), so the file does not depend on the port used while recording; a replay
replaces scheme and host with each backend's base URL anyway. Only ids, tokens and times vary between
recordings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from paritycheck import __version__
from paritycheck.errors import ConfigError, ExitStatus, ParitycheckError
from paritycheck.samples import board, configured_urls, data, legacy, serve_app

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
#: Cookies the browser already holds before the session starts (analytics, UI preference).
BROWSER_COOKIES = {"_ga": "GA1.1.1093488317.1714550400", "theme": "dark"}
UNKNOWN_GOAL = "00000000-0000-4000-8000-000000000000"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Session:
    """A front-end session that logs every exchange as a HAR entry."""

    client: httpx.AsyncClient
    real_netloc: str
    recorded_netloc: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=lambda: dict(BROWSER_COOKIES))
    token: str | None = None

    def _swap(self, text: str) -> str:
        return text.replace(self.real_netloc, self.recorded_netloc)

    def page(self, route: str, title: str) -> None:
        """Navigate the single-page app to ``route`` (a new HAR page)."""
        self.pages.append(
            {
                "startedDateTime": _iso(datetime.now(UTC)),
                "id": f"page_{len(self.pages) + 1}",
                "title": f"{title} - KPI Tracker (http://{self.recorded_netloc}/#{route})",
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                "_route": route,
            }
        )

    async def call(
        self, method: str, path: str, *, json_body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send one request the way the front end does, and log it."""
        headers = {
            "Accept": "application/json, text/plain, */*",
            "Accept-Encoding": "gzip, deflate, br",
            "Accept-Language": "en-GB,en;q=0.9",
            "User-Agent": USER_AGENT,
            "Referer": f"http://{self.real_netloc}/",
        }
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            headers["Origin"] = f"http://{self.real_netloc}"
        started = datetime.now(UTC)
        clock = time.perf_counter()
        response = await self.client.request(method, path, headers=headers, content=content)
        elapsed = (time.perf_counter() - clock) * 1000
        self.client.cookies.clear()  # the browser's jar is self.cookies
        for morsel in SimpleCookie(response.headers.get("set-cookie", "")).values():
            self.cookies[morsel.key] = morsel.value
        self.entries.append(self._entry(response, started, elapsed, content))
        return response

    def _entry(
        self, response: httpx.Response, started: datetime, elapsed: float, sent: bytes | None
    ) -> dict[str, Any]:
        request = response.request
        url = self._swap(str(request.url))
        request_headers = [
            {"name": k.decode("latin-1"), "value": self._swap(v.decode("latin-1"))}
            for k, v in request.headers.raw
        ]
        cookie_header = request.headers.get("cookie", "")
        request_cookies = [{"name": m.key, "value": m.value} for m in SimpleCookie(cookie_header).values()]
        har_request: dict[str, Any] = {
            "method": request.method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": request_headers,
            "queryString": [{"name": k, "value": v} for k, v in request.url.params.multi_items()],
            "cookies": request_cookies,
            "headersSize": -1,
            "bodySize": len(sent) if sent is not None else 0,
        }
        if sent is not None:
            har_request["postData"] = {
                "mimeType": request.headers.get("content-type", ""),
                "text": sent.decode(),
                "params": [],
            }
        set_cookies = [
            {"name": m.key, "value": m.value, "path": m["path"] or "/", "httpOnly": bool(m["httponly"])}
            for m in SimpleCookie(response.headers.get("set-cookie", "")).values()
        ]
        body = response.content
        har_response = {
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": k.decode("latin-1"), "value": v.decode("latin-1")} for k, v in response.headers.raw
            ],
            "cookies": set_cookies,
            "content": {
                "size": len(body),
                "mimeType": response.headers.get("content-type", ""),
                "text": body.decode("utf-8"),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(body),
        }
        wait = round(elapsed, 3)
        return {
            "pageref": self.pages[-1]["id"],
            "startedDateTime": _iso(started),
            "time": wait,
            "request": har_request,
            "response": har_response,
            "cache": {},
            "timings": {
                "blocked": -1,
                "dns": -1,
                "ssl": -1,
                "connect": -1,
                "send": 0,
                "wait": wait,
                "receive": 0,
            },
            "serverIPAddress": "127.0.0.1",
            "_resourceType": "fetch",
        }

    def har(self) -> dict[str, Any]:
        """The HAR document of everything logged so far."""
        pages = []
        for page in self.pages:
            mine = [e for e in self.entries if e["pageref"] == page["id"]]
            onload = round(sum(e["time"] for e in mine), 3)
            page = {k: v for k, v in page.items() if k != "_route"}
            pages.append({**page, "pageTimings": {"onContentLoad": -1, "onLoad": onload}})
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "paritycheck.samples.record", "version": __version__},
                "browser": {"name": "Chrome", "version": "124.0.0.0"},
                "pages": pages,
                "entries": self.entries,
                "comment": "Demo session against the legacy KPI tracker sample; regenerate with "
                "python -m paritycheck.samples.record --out captures/auth.har",
            }
        }


async def play(session: Session, *, projects: bool = True) -> None:
    """The scripted front-end session (~60 requests); ``projects=False`` leaves out its stateful part."""
    session.page("/login", "Sign in")
    await session.call("GET", "/api/v1/health")
    await session.call("GET", "/api/v1/auth/me")  # no token yet: 401, the app shows the login form
    await session.call(
        "POST", "/api/v1/auth/login", json_body={"email": data.DEMO_EMAIL, "password": "kpi-demo-2024"}
    )
    login = await session.call(
        "POST", "/api/v1/auth/login", json_body={"email": data.DEMO_EMAIL, "password": data.DEMO_PASSWORD}
    )
    session.token = login.json()["data"]["accessToken"]
    await session.call("GET", "/api/v1/auth/me")

    session.page("/dashboard", "Dashboard")
    kpis = (await session.call("GET", "/api/v1/kpis")).json()["data"]["items"]
    await session.call("GET", "/api/v1/reports/summary")
    await session.call("GET", "/api/v1/goals?status=at_risk")
    await session.call("GET", "/api/v1/goals?status=behind")

    for kpi in kpis:
        session.page(f"/kpis/{kpi['id']}", kpi["name"])
        await session.call("GET", f"/api/v1/kpis/{kpi['id']}")
        await session.call("GET", f"/api/v1/kpis/{kpi['id']}/tags")
        goals = (await session.call("GET", f"/api/v1/goals?kpiId={kpi['id']}")).json()["data"]["items"]
        if goals:
            await session.call("GET", f"/api/v1/goals/{goals[0]['id']}")

    session.page("/goals", "Goals")
    every = (await session.call("GET", "/api/v1/goals")).json()["data"]["items"]
    await session.call("GET", "/api/v1/goals?status=on_track")
    await session.call("GET", "/api/v1/goals?status=done")
    await session.call("GET", f"/api/v1/goals/{every[-1]['id']}")

    session.page("/kpis/999", "Not found")  # an old bookmark
    await session.call("GET", "/api/v1/kpis/999")
    await session.call("GET", f"/api/v1/goals/{UNKNOWN_GOAL}")

    session.page("/reports", "Reports")
    await session.call("GET", "/api/v1/reports/summary")
    await session.call("GET", "/api/v1/kpis?page=1&pageSize=3")
    await session.call("GET", "/api/v1/kpis?page=2&pageSize=3")
    await session.call("GET", "/api/v1/health")
    if projects:
        await play_projects(session)
        await play_board(session)


#: The account the projects part of the session signs up with.
NEW_USER = {"email": "sam.rivera@example.com", "password": "Projects-demo-2024!", "displayName": "Sam Rivera"}


async def play_projects(session: Session) -> None:
    """A stateful session: sign up, sign in, create, read by slug and id, update, comment, list, delete.

    Every id, slug and token in it is generated by the backend, so a replay must use each backend's own.
    """
    session.page("/signup", "Create account")
    await session.call("POST", "/api/v1/auth/register", json_body=NEW_USER)
    credentials = {"email": NEW_USER["email"], "password": NEW_USER["password"]}
    login = await session.call("POST", "/api/v1/auth/login", json_body=credentials)
    session.token = login.json()["data"]["accessToken"]

    session.page("/projects", "Projects")
    await session.call("GET", "/api/v1/projects")
    body = {"name": "Q3 launch", "description": "Everything for the Q3 launch."}
    created = (await session.call("POST", "/api/v1/projects", json_body=body)).json()["data"]
    project_id, slug = created["id"], created["slug"]

    session.page(f"/projects/{slug}", "Q3 launch")
    await session.call("GET", f"/api/v1/projects/by-slug/{slug}")
    await session.call("GET", f"/api/v1/projects/{project_id}")
    await session.call(
        "PATCH", f"/api/v1/projects/{project_id}", json_body={"description": "Plan and owners."}
    )
    await session.call(
        "POST", f"/api/v1/projects/{project_id}/comments", json_body={"body": "Kick-off Monday."}
    )
    await session.call("GET", f"/api/v1/projects/{project_id}/comments")

    session.page("/projects", "Projects")
    await session.call("POST", "/api/v1/projects", json_body={"name": "Churn study", "description": None})
    await session.call("GET", "/api/v1/projects")
    await session.call("DELETE", f"/api/v1/projects/{project_id}")
    await session.call("GET", f"/api/v1/projects/{project_id}")  # gone: 404
    await session.call("GET", "/api/v1/projects")


async def play_board(session: Session) -> None:
    """People pages by username, then the task board: list, create, a rejected create, read, delete."""
    session.page("/people", "People")
    for username in board.PEOPLE:
        await session.call("GET", f"/api/v1/people/{username}")
    session.page("/tasks", "Tasks")
    await session.call("GET", "/api/v1/tasks")
    created = (await session.call("POST", "/api/v1/tasks", json_body={"title": "Plan Q4"})).json()["data"]
    await session.call("POST", "/api/v1/tasks", json_body={"title": ""})  # the form's validation error
    await session.call("GET", f"/api/v1/tasks/{created['id']}")
    await session.call("GET", "/api/v1/tasks")
    # A stale tab whose session expired: the delete goes out without a token (the legacy refuses it).
    token, session.token = session.token, None
    await session.call("DELETE", f"/api/v1/tasks/{created['id']}")
    session.token = token


async def record(*, recorded_as: str = "http://127.0.0.1:5000") -> dict[str, Any]:
    """Run the session against a fresh legacy sample on a free port; return the HAR document."""
    parts = urlsplit(recorded_as)
    if parts.scheme != "http" or not parts.netloc:
        raise ConfigError(
            f"--recorded-as must be an http URL, not {recorded_as!r}", hint="e.g. http://127.0.0.1:5000"
        )
    runner, url = await serve_app(legacy.make_app(), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
            session = Session(client, real_netloc=urlsplit(url).netloc, recorded_netloc=parts.netloc)
            await play(session)
            har = session.har()
    finally:
        await runner.cleanup()
    return har


def write_har(har: dict[str, Any], out: Path) -> None:
    """Write ``har`` as indented UTF-8 JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(har, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m paritycheck.samples.record", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("captures/auth.har"), help="HAR file to write")
    parser.add_argument(
        "--config", type=Path, default=Path("paritycheck.toml"), help="where the legacy URL is"
    )
    parser.add_argument(
        "--recorded-as", help="base URL written into the HAR (default: the config's legacy URL)"
    )
    options = parser.parse_args(argv)
    try:
        recorded_as = options.recorded_as or configured_urls(options.config)[0]
        har = asyncio.run(record(recorded_as=recorded_as))
        write_har(har, options.out)
    except ParitycheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status
    except OSError as exc:
        print(f"error: cannot write {options.out}: {exc.strerror or exc}", file=sys.stderr)
        return ExitStatus.FAILURE
    print(f"wrote {len(har['log']['entries'])} entries to {options.out}")
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
