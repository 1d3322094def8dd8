"""The demo's task board and people pages (docs/demo.md, differences 21-28).

Both backends serve these routes with their own ``ok``/``fail`` and their own clock; ``legacy`` says
which one this is. Seeded, all marked ``SEEDED``: creation instants written by each backend's own clock
(noise, not a difference), usernames in paths (one endpoint, not five), an empty invite token on the
legacy against a real one on the candidate, a create answered 200 → 201 and a validation error 422 →
400 whose body the port renamed (``errors``, Rails style, where the legacy wrote ``error``), a delete
whose authorisation check the port forgot, and a task list that loses its first element.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

Ok = Callable[..., web.Response]
Fail = Callable[[int, str, str], web.Response]

#: Usernames as real sign-ups write them: digits, dots, underscores, hyphens.
PEOPLE: Final = ("celeb_evaluser1", "celeb_evaluser2", "ana.lopez", "bob_99", "chen-wei-2")
#: Tasks every board starts with; their instants are stored, so both backends agree on them.
SEED_TASKS: Final = (
    ("Draft Q3 targets", datetime(2024, 4, 2, 9, 30, tzinfo=UTC)),
    ("Review churn KPI", datetime(2024, 4, 3, 14, 0, tzinfo=UTC)),
    ("Close March goals", datetime(2024, 4, 5, 8, 15, tzinfo=UTC)),
)


@dataclass(slots=True)
class Board:
    """One backend's tasks."""

    legacy: bool
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.tasks.clear()
        self.next_id = 1
        for title, at in SEED_TASKS:
            self.add(title, at)

    def add(self, title: str, at: datetime) -> dict[str, Any]:
        task = {"id": self.next_id, "title": title, "done": False, "created_at": at}
        self.tasks[self.next_id] = task
        self.next_id += 1
        return task


_BOARD: Final = web.AppKey("board", Board)


def add_routes(app: web.Application, board: Board, *, ok: Ok, fail: Fail) -> None:
    """Register the board and people routes on ``app``; ``board.reset`` belongs to the admin reset."""
    app[_BOARD] = board

    async def person(request: web.Request) -> web.Response:
        username = request.match_info["username"]
        if username not in PEOPLE:
            return fail(404, "PERSON_NOT_FOUND", f"{username} was not found.")
        # SEEDED real bug: the legacy has no invite for anyone yet (""), the port mints one on every read.
        invite = "" if board.legacy else secrets.token_urlsafe(24)
        return ok({"username": username, "display_name": username.title(), "invite_token": invite})

    async def list_tasks(request: web.Request) -> web.Response:
        items = sorted(board.tasks.values(), key=lambda t: t["id"])
        if not board.legacy:
            items = items[1:]  # SEEDED real bug: an off-by-one offset drops the first task
        return ok({"items": items, "total_count": len(board.tasks)})

    async def create(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        title = body.get("title") if isinstance(body, dict) else None
        if not isinstance(title, str) or not title.strip():
            if board.legacy:
                return fail(422, "VALIDATION_ERROR", "title is required.")
            # SEEDED real difference: the port answers 400, its errors keyed by field under ``errors``.
            return web.json_response({"errors": {"title": ["can't be blank"]}}, status=400)
        # SEEDED noise: created_at is read off this backend's own clock, a moment apart on the two.
        task = board.add(title.strip(), datetime.now(UTC))
        return ok(task, status=200 if board.legacy else 201)  # SEEDED real difference: 200 -> 201

    async def get_task(request: web.Request) -> web.Response:
        task = board.tasks.get(int(request.match_info["task_id"]))
        if task is None:
            return fail(404, "TASK_NOT_FOUND", f"Task {request.match_info['task_id']} was not found.")
        return ok(task)

    async def delete(request: web.Request) -> web.Response:
        # SEEDED real bug: the port forgot the authorisation check, so it deletes for anyone.
        if board.legacy and not request.headers.get("Authorization"):
            return fail(401, "UNAUTHORIZED", "A valid bearer token is required.")
        if board.tasks.pop(int(request.match_info["task_id"]), None) is None:
            return fail(404, "TASK_NOT_FOUND", f"Task {request.match_info['task_id']} was not found.")
        return web.Response(status=204)

    app.router.add_get("/api/v1/people/{username}", person)
    app.router.add_get("/api/v1/tasks", list_tasks)
    app.router.add_post("/api/v1/tasks", create)
    app.router.add_get(r"/api/v1/tasks/{task_id:\d+}", get_task)
    app.router.add_delete(r"/api/v1/tasks/{task_id:\d+}", delete)
