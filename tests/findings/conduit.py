"""Two small independent implementations of one public API (the RealWorld "Conduit" API), for the
findings acceptance test, and the scripted session a browser would record against the first.

The legacy is written like the Node/Express implementations, the candidate like the Django REST
framework ones. They differ the way issue 21 saw two independent implementations differ, each root
cause repeating across endpoints and exchanges as it did there:

=================  =========================================================================================
root cause         how it shows
=================  =========================================================================================
``profile-nulls``  ``bio`` and ``image`` null on legacy, ``""`` and a default picture URL on the candidate,
                   in every user, profile and embedded author (most endpoints)
``author-email``   the legacy embeds the author's ``email``; the candidate leaves it out, in every author
``create-201``     creates answer 200 on legacy, 201 on the candidate (users, articles, comments,
                   favourites, follows: 5 endpoints)
``auth-403``       without a token: 401 ``{"errors": {"body": [...]}}`` on legacy, 403 ``{"detail": ...}``
``put-by-other``   PUT of an article by another user: legacy 404 (hides it), the candidate performs it (200)
``delete-other``   DELETE of another user's comment: legacy crashes (500), the candidate deletes it (204)
``validation``     a register without a password: 422 ``{"errors": {...}}`` on legacy, 400 DRF style
``not-found``      an unknown article or profile: 404 on both, ``{"errors": {...}}`` vs ``{"detail": ...}``
``tag-order``      ``tagList`` sorted on legacy, as written on the candidate
``count``          ``articlesCount`` counts every article on legacy, only the page on the candidate
=================  =========================================================================================
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

LEGACY, CANDIDATE = "legacy", "candidate"
DEFAULT_IMAGE = "https://api.realworld.io/images/smiley-cyrus.jpeg"
CAUSES = (
    "profile-nulls",
    "author-email",
    "create-201",
    "auth-403",
    "put-by-other",
    "delete-other",
    "validation",
    "not-found",
    "tag-order",
    "count",
)


@dataclass
class _State:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # username -> user
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)  # slug -> article
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    follows: set[tuple[str, str]] = field(default_factory=set)
    clock: int = 0

    def now(self) -> str:
        self.clock += 1  # both sides write the same instants: time is not what this fixture is about
        return f"2024-05-01T10:{self.clock // 60:02d}:{self.clock % 60:02d}.000Z"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def make_app(side: str) -> web.Application:
    """The legacy or the candidate implementation."""
    state = _State()
    legacy = side == LEGACY
    created = 200 if legacy else 201

    def me(request: web.Request) -> dict[str, Any] | None:
        token = request.headers.get("Authorization", "").removeprefix("Token ")
        return next((u for u in state.users.values() if u["token"] == token), None)

    def refused() -> web.Response:
        if legacy:
            return web.json_response({"errors": {"body": ["missing authorization credentials"]}}, status=401)
        return web.json_response({"detail": "Authentication credentials were not provided."}, status=403)

    def not_found(what: str) -> web.Response:
        if legacy:
            return web.json_response({"errors": {what: ["not found"]}}, status=404)
        return web.json_response({"detail": "Not found."}, status=404)

    def profile(
        user: dict[str, Any], viewer: dict[str, Any] | None, *, author: bool = False
    ) -> dict[str, Any]:
        out = {
            "username": user["username"],
            "bio": user["bio"] if user["bio"] is not None or legacy else "",
            "image": user["image"] if user["image"] is not None or legacy else DEFAULT_IMAGE,
            "following": viewer is not None and (viewer["username"], user["username"]) in state.follows,
        }
        if author and legacy:
            out["email"] = user["email"]
        return out

    def user_json(user: dict[str, Any]) -> dict[str, Any]:
        p = profile(user, None)
        return {"user": {"email": user["email"], "token": user["token"], "username": user["username"],
                         "bio": p["bio"], "image": p["image"]}}  # fmt: skip

    def article_json(a: dict[str, Any], viewer: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "slug": a["slug"],
            "title": a["title"],
            "description": a["description"],
            "body": a["body"],
            "tagList": sorted(a["tags"]) if legacy else list(a["tags"]),
            "createdAt": a["created"],
            "updatedAt": a["updated"],
            "favorited": viewer is not None and viewer["username"] in a["favorited"],
            "favoritesCount": len(a["favorited"]),
            "author": profile(state.users[a["author"]], viewer, author=True),
        }

    async def body(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    async def register(request: web.Request) -> web.Response:
        data = (await body(request)).get("user") or {}
        missing = [k for k in ("username", "email", "password") if not data.get(k)]
        if missing:
            if legacy:
                return web.json_response({"errors": {k: ["can't be blank"] for k in missing}}, status=422)
            return web.json_response({k: ["This field is required."] for k in missing}, status=400)
        user = {"username": data["username"], "email": data["email"], "token": f"token-{data['username']}",
                "bio": None, "image": None}  # fmt: skip
        state.users[user["username"]] = user
        return web.json_response(user_json(user), status=created)

    async def login(request: web.Request) -> web.Response:
        data = (await body(request)).get("user") or {}
        user = next((u for u in state.users.values() if u["email"] == data.get("email")), None)
        if user is None:
            return web.json_response({"errors": {"email or password": ["is invalid"]}}, status=422)
        return web.json_response(user_json(user))

    async def current(request: web.Request) -> web.Response:
        user = me(request)
        return refused() if user is None else web.json_response(user_json(user))

    async def get_profile(request: web.Request) -> web.Response:
        user = state.users.get(request.match_info["username"])
        if user is None:
            return not_found("profile")
        return web.json_response({"profile": profile(user, me(request))})

    async def follow(request: web.Request) -> web.Response:
        viewer, user = me(request), state.users.get(request.match_info["username"])
        if viewer is None:
            return refused()
        if user is None:
            return not_found("profile")
        state.follows.add((viewer["username"], user["username"]))
        return web.json_response({"profile": profile(user, viewer)}, status=created)

    async def list_articles(request: web.Request) -> web.Response:
        viewer = me(request)
        limit = int(request.query.get("limit", "20"))
        chosen = [a for a in state.articles.values() if request.query.get("author") in (None, a["author"])]
        page = sorted(chosen, key=lambda a: a["created"], reverse=True)[:limit]
        count = len(chosen) if legacy else len(page)
        return web.json_response(
            {"articles": [article_json(a, viewer) for a in page], "articlesCount": count}
        )

    async def feed(request: web.Request) -> web.Response:
        viewer = me(request)
        if viewer is None:
            return refused()
        page = [a for a in state.articles.values() if (viewer["username"], a["author"]) in state.follows]
        return web.json_response(
            {"articles": [article_json(a, viewer) for a in page], "articlesCount": len(page)}
        )

    async def create_article(request: web.Request) -> web.Response:
        author = me(request)
        if author is None:
            return refused()
        data = (await body(request)).get("article") or {}
        now = state.now()
        a = {"slug": _slug(data["title"]), "title": data["title"], "description": data.get("description", ""),
             "body": data.get("body", ""), "tags": list(data.get("tagList") or ()), "created": now,
             "updated": now, "author": author["username"], "favorited": set()}  # fmt: skip
        state.articles[a["slug"]] = a
        state.comments[a["slug"]] = []
        return web.json_response({"article": article_json(a, author)}, status=created)

    async def get_article(request: web.Request) -> web.Response:
        a = state.articles.get(request.match_info["slug"])
        return (
            not_found("article")
            if a is None
            else web.json_response({"article": article_json(a, me(request))})
        )

    async def update_article(request: web.Request) -> web.Response:
        viewer, a = me(request), state.articles.get(request.match_info["slug"])
        if viewer is None:
            return refused()
        if a is None or (legacy and a["author"] != viewer["username"]):  # the candidate forgot this check
            return not_found("article")
        a.update(
            {k: v for k, v in ((await body(request)).get("article") or {}).items() if k in ("title", "body")}
        )
        a["updated"] = state.now()
        return web.json_response({"article": article_json(a, viewer)})

    async def favorite(request: web.Request) -> web.Response:
        viewer, a = me(request), state.articles.get(request.match_info["slug"])
        if viewer is None:
            return refused()
        if a is None:
            return not_found("article")
        a["favorited"].add(viewer["username"])
        return web.json_response({"article": article_json(a, viewer)}, status=created)

    async def comments(request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug not in state.articles:
            return not_found("article")
        viewer = me(request)
        return web.json_response({"comments": [comment_json(c, viewer) for c in state.comments[slug]]})

    def comment_json(c: dict[str, Any], viewer: dict[str, Any] | None) -> dict[str, Any]:
        return {"id": c["id"], "createdAt": c["created"], "updatedAt": c["created"], "body": c["body"],
                "author": profile(state.users[c["author"]], viewer, author=True)}  # fmt: skip

    async def add_comment(request: web.Request) -> web.Response:
        viewer, slug = me(request), request.match_info["slug"]
        if viewer is None:
            return refused()
        if slug not in state.articles:
            return not_found("article")
        text = ((await body(request)).get("comment") or {}).get("body", "")
        c = {"id": sum(map(len, state.comments.values())) + 1, "body": text, "author": viewer["username"],
             "created": state.now()}  # fmt: skip
        state.comments[slug].append(c)
        return web.json_response({"comment": comment_json(c, viewer)}, status=created)

    async def delete_comment(request: web.Request) -> web.Response:
        viewer, slug = me(request), request.match_info["slug"]
        if viewer is None:
            return refused()
        found = [c for c in state.comments.get(slug, []) if str(c["id"]) == request.match_info["id"]]
        if not found:
            return not_found("comment")
        if legacy and found[0]["author"] != viewer["username"]:
            # The legacy's ownership check dereferences a field that only the author's session has.
            return web.Response(status=500, text="Internal Server Error", content_type="text/html")
        state.comments[slug].remove(found[0])
        return web.Response(status=204)

    async def tags(request: web.Request) -> web.Response:
        seen = sorted({t for a in state.articles.values() for t in a["tags"]})
        return web.json_response({"tags": seen})

    app = web.Application()
    r = app.router
    r.add_post("/api/users", register)
    r.add_post("/api/users/login", login)
    r.add_get("/api/user", current)
    r.add_get("/api/profiles/{username}", get_profile)
    r.add_post("/api/profiles/{username}/follow", follow)
    r.add_get("/api/articles", list_articles)
    r.add_get("/api/articles/feed", feed)
    r.add_post("/api/articles", create_article)
    r.add_get("/api/articles/{slug}", get_article)
    r.add_put("/api/articles/{slug}", update_article)
    r.add_post("/api/articles/{slug}/favorite", favorite)
    r.add_get("/api/articles/{slug}/comments", comments)
    r.add_post("/api/articles/{slug}/comments", add_comment)
    r.add_delete("/api/articles/{slug}/comments/{id}", delete_comment)
    r.add_get("/api/tags", tags)
    return app


# ------------------------------------------------------------------------------------------- the session

_ALICE, _BOB = "token-alice", "token-bob"
_ARTICLES = [
    ("How to train your dragon", ["dragons", "training"]),
    ("Zebras and other stripes", ["zoo", "animals", "stripes"]),
    ("A quiet morning", ["life"]),
]


def _session() -> list[tuple[str, str, str | None, dict[str, Any] | None]]:
    """(method, path, token, body) of a front-end session, in the order a browser sent them."""
    steps: list[tuple[str, str, str | None, dict[str, Any] | None]] = [
        (
            "POST",
            "/api/users",
            None,
            {"user": {"username": "alice", "email": "alice@x.io", "password": "pw1"}},
        ),
        ("POST", "/api/users", None, {"user": {"username": "bob", "email": "bob@x.io", "password": "pw2"}}),
        ("POST", "/api/users", None, {"user": {"username": "carol", "email": "carol@x.io"}}),
        ("POST", "/api/users/login", None, {"user": {"email": "alice@x.io", "password": "pw1"}}),
        ("GET", "/api/user", _ALICE, None),
        ("GET", "/api/user", None, None),
        ("GET", "/api/articles/feed", None, None),
        ("POST", "/api/articles", None, {"article": {"title": "Anonymous"}}),
    ]
    for title, tags in _ARTICLES:
        steps.append(
            ("POST", "/api/articles", _ALICE, {"article": {"title": title, "body": "…", "tagList": tags}})
        )
    slugs = [_slug(t) for t, _ in _ARTICLES]
    steps += [
        ("POST", f"/api/articles/{slugs[0]}/comments", _BOB, {"comment": {"body": "Great read"}}),
        ("POST", f"/api/articles/{slugs[0]}/comments", _ALICE, {"comment": {"body": "Thanks!"}}),
        ("POST", f"/api/articles/{slugs[1]}/comments", None, {"comment": {"body": "anonymous"}}),
        ("POST", f"/api/articles/{slugs[1]}/favorite", _BOB, None),
        ("POST", f"/api/articles/{slugs[1]}/favorite", None, None),
        ("POST", "/api/profiles/alice/follow", _BOB, None),
        ("GET", "/api/articles/feed", _BOB, None),
        ("GET", "/api/articles?limit=2", None, None),
        ("GET", "/api/articles?limit=2", _BOB, None),
        ("GET", "/api/articles?author=alice", _BOB, None),
        ("GET", "/api/tags", None, None),
        ("GET", "/api/profiles/alice", _BOB, None),
        ("GET", "/api/profiles/bob", None, None),
        ("GET", "/api/profiles/nobody", None, None),
        ("GET", "/api/articles/no-such-article", None, None),
        ("GET", "/api/articles/no-such-article/comments", _BOB, None),
    ]
    for slug in slugs:
        steps += [
            ("GET", f"/api/articles/{slug}", _BOB, None),
            ("GET", f"/api/articles/{slug}/comments", None, None),
        ]
    # Last, as a stale tab would: bob edits alice's article and deletes alice's comment.
    steps += [
        ("PUT", f"/api/articles/{slugs[2]}", _BOB, {"article": {"body": "bob was here"}}),
        ("DELETE", f"/api/articles/{slugs[0]}/comments/2", _BOB, None),
    ]
    return steps


def write_capture(path: Path, base: str = "http://conduit.test") -> Path:
    """Write the session as a JSON lines capture (no recorded responses: a script's capture)."""
    lines = []
    for method, target, token, data in _session():
        headers = {"accept": "application/json"}
        if token is not None:
            headers["authorization"] = f"Token {token}"
        line: dict[str, Any] = {"method": method, "url": base + target, "headers": headers}
        if data is not None:
            headers["content-type"] = "application/json"
            line["body"] = json.dumps(data)
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
