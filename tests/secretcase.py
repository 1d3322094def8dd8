"""Secrets in every place issue 23 found them, backends that echo them, and a search for any that leaked.

Shared by the secrets tests of replay (tests/test_secrets.py), the live modes
(tests/live/test_live_secrets.py) and the PostgreSQL workers (tests/pg/test_pg_secrets.py). Every
secret holds upper-case letters, which no mark has, so finding one anywhere is a leak and nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.harutil import entry

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEtbG92ZWxhY2UiLCJpYXQiOjE3MDAwMDAwMDB9"
    ".Xq3rT9kLmZ2pW8vB4nY6cJ1hF0sD7gE5aUqPz"
)
PATH_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzaGFyZSI6IjQyIiwiZXhwIjo5OTk5OTk5OTk5fQ.Ab9Cd8Ef7Gh6Ij5Kl4Mn3Op2Qr1St0Uv"
BASIC_USER, BASIC_PASSWORD = "basicUser7", "Basic-Pass-Cv8Bn7"
BASIC = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()

#: Every secret, by where issue 23 found it. Each is at least 8 characters with an upper-case letter.
SECRETS: dict[str, str] = {
    "cookie": "Ck-Zq8Wm3Nv6Lp1",
    "csrf": "Csrf-Hy7Tg5Rf4Ed3",
    "x-api-key": "Ak-Pk2Ol9Ij8Uh7",
    "x-session": "Xs-Mn6Bv5Cx4Za3",
    "query api_key": "Qa-Gf3Dd2Ss1Aa0",
    "query access_token": "Qt-Wq9Ee8Rr7Tt6",
    "query token": "Qk-Yy5Uu4Ii3Oo2",
    "query password": "Qp-Pp1Ll0Kk9Jj8",
    "query sig": "Qs-Hh7Gg6Ff5Dd4",
    "form password": "Fp-Ss3Aa2Zz1Xx0",
    "bearer jwt": JWT,
    "basic credentials": BASIC,
    "basic password": BASIC_PASSWORD,
    "location access_token": "Lt-Nm6Jk5Hg4Fd3",
    "location code": "Lc-Rt2Ye1Uw0Qi9",
    "json session": "Sess-Vb8Nm7Lk6Jh5",
    "json jwt": "Jwt-Gh4Jk3Lm2Np1",
    "json credentials.key": "Cred-Qw9Er8Ty7Ui6",
    "answer session": "As-Zx5Cv4Bn3Mm2",
    "path jwt": PATH_JWT,
    "github token": "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "aws key id": "AKIAIOSFODNN7EXAMPL3",
    "random path segment": "Zk8QpL2mXv9RtY4wBn7Jc3Hd6Fg1Ks5",
    "capture userinfo": "AliceSecretUser",
    "backend password": "Bpw-Lk9Mj8Nh7",
    "dsn password": "Dsn-Pw4Rt5Yu6",
    "absolute-form user": "MirrorUserName",
}

_QUERY = (
    f"api_key={SECRETS['query api_key']}&access_token={SECRETS['query access_token']}"
    f"&token={SECRETS['query token']}&password={SECRETS['query password']}&sig={SECRETS['query sig']}"
)
HEADERS = (
    ("Cookie", f"sid={SECRETS['cookie']}; theme=dark"),
    ("X-CSRF-Token", SECRETS["csrf"]),
    ("X-Api-Key", SECRETS["x-api-key"]),
    ("X-Session", SECRETS["x-session"]),
    ("Authorization", f"Bearer {JWT}"),
)
LOGIN = {
    "user": "ada",
    "session": SECRETS["json session"],
    "jwt": SECRETS["json jwt"],
    "credentials": {"key": SECRETS["json credentials.key"]},
}
FORM = f"user=ada&password={SECRETS['form password']}"


def targets() -> list[tuple[str, str, tuple[tuple[str, str], ...], str | None, str | None]]:
    """``(method, target, headers, body, content type)`` of the requests that carry every secret."""
    return [
        ("GET", f"/api/me?{_QUERY}", HEADERS, None, None),
        ("GET", f"/page/me?{_QUERY}", HEADERS, None, None),
        ("GET", "/api/basic", (("Authorization", f"Basic {BASIC}"),), None, None),
        ("GET", "/redirect/login", HEADERS, None, None),
        ("GET", f"/api/share/{PATH_JWT}/view", (), None, None),
        (
            "GET",
            f"/api/repos/{SECRETS['github token']}/files?k={SECRETS['aws key id']}"
            f"&v={SECRETS['random path segment']}",
            (),
            None,
            None,
        ),
        ("POST", "/api/login", (), json.dumps(LOGIN), "application/json"),
        ("POST", "/api/form", HEADERS, FORM, "application/x-www-form-urlencoded"),
    ]


def har_entries(base: str = "https://prod.test") -> list[dict[str, Any]]:
    """The requests as HAR entries, plus one whose URL carries user information."""
    entries = []
    for method, target, headers, body, content_type in targets():
        more = (("Content-Type", content_type),) if content_type else ()
        item = entry(method, base + target, headers=(*headers, *more), body=body)
        if content_type and body is not None:
            item["request"]["postData"]["mimeType"] = content_type
        entries.append(item)
    user = base.replace("://", f"://{SECRETS['capture userinfo']}@")
    entries.append(entry("GET", f"{user}/api/ui"))
    return entries


SIDE = web.AppKey("side", str)


async def echo(request: web.Request) -> web.StreamResponse:
    """A backend that hands the request's secrets back, in a JSON answer, an HTML page, a header and a
    redirect; legacy and candidate differ around them so that reports show them as differences."""
    side = request.app[SIDE]
    body = (await request.read()).decode("utf-8", "replace")
    said = f"{side} says {request.headers.get('X-Api-Key', '')} {request.query_string}"
    if request.path.startswith("/redirect"):
        where = (
            f"https://app.test/cb?access_token={SECRETS['location access_token']}"
            f"&code={SECRETS['location code']}&state={side}"
        )
        return web.Response(status=302, headers={"Location": where, "X-Echo": said})
    if request.path.startswith("/page"):
        # The sides differ right after the Bearer token, so a report's window of the page starts in it.
        page = f"<p>{request.headers.get('Authorization')} {side}: {request.headers.get('Cookie')} {said}</p>"
        return web.Response(text=page, content_type="text/html", headers={"X-Echo": said})
    doc = {
        "side": side,
        "note": said,
        "query": request.query_string,
        "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() != "host"},
        "seen": {"header": dict(request.headers), "body": body},
        "body": body,
        "session": SECRETS["answer session"],
        "jwt": JWT,
        "credentials": {"key": SECRETS["json credentials.key"]},
    }
    return web.json_response(doc, headers={"X-Echo": said})


def echo_app(side: str) -> web.Application:
    app = web.Application()
    app[SIDE] = side
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def database_text(path: Path) -> str:
    """Every value of every table of a SQLite file, bodies decompressed: what the store holds."""
    conn = sqlite3.connect(path)
    out = []
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        out.append(value.decode("utf-8", "replace"))
                    else:
                        out.append(str(value))
    finally:
        conn.close()
    return "\n".join(out)


def files_text(folder: Path, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """Every file under ``folder`` as text (SQLite files as their values), by path."""
    skipped = set(skip)
    out = {}
    for file in sorted(folder.rglob("*")):
        if not file.is_file() or file.name in skipped:
            continue
        data = file.read_bytes()
        out[str(file.relative_to(folder))] = data.decode("utf-8", "replace")
        if data.startswith(b"SQLite format 3"):
            out[f"{file.relative_to(folder)} (values)"] = database_text(file)
    return out


#: Long secrets are also looked for by every piece of this many characters: a text cut to a window
#: (a report's example of a long page) can split a secret so that only a piece of it shows.
PIECE = 12


def leaks(texts: Mapping[str, str], secrets: Mapping[str, str] = SECRETS) -> dict[str, list[str]]:
    """``{secret's place: [where it was found]}`` over ``texts``; empty when nothing leaked.

    Each secret is looked for as it is, percent-encoded and JSON-escaped, and a secret of 20 characters
    or more also by each of its pieces of :data:`PIECE` characters."""
    from urllib.parse import quote

    found: dict[str, list[str]] = {}
    for name, secret in secrets.items():
        forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
        if len(secret) >= 20:
            forms.update(secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1))
        where = [label for label, text in texts.items() if any(form in text for form in forms)]
        if where:
            found[name] = where
    return found
