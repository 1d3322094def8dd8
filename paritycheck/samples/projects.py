"""The demo's stateful part: sign-up, signed tokens and projects with comments (docs/demo.md).

Both backends serve these routes with their own conventions (the ``ok``/``fail`` of each module), their
own token signing key and their own generated values: the legacy numbers projects from 1 and slugs them
``<name>-<id>``, the candidate numbers them from 1001 and slugs them ``<name>-<random>``; comment ids are
integers on the legacy and UUIDs on the candidate; registered users get random UUIDs on both. Each
backend accepts only tokens it signed itself on these routes. ``POST /api/v1/_admin/reset`` forgets every
registered user, project and comment, and whatever else registered in ``Workspace.also_reset`` (the task
board); the seed data never changes.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from paritycheck.samples import data

Ok = Callable[..., web.Response]
Fail = Callable[[int, str, str], web.Response]


@dataclass(slots=True)
class Project:
    id: int
    slug: str
    name: str
    description: str | None
    owner_id: str
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Workspace:
    """One backend's mutable data and how it generates ids and slugs."""

    key: bytes
    first_project_id: int
    random_slugs: bool
    uuid_comments: bool
    #: SEEDED real bug (candidate): the project list reports comment_count 0 (the count query was dropped).
    list_counts_comments: bool = True
    users: dict[str, data.User] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    next_project: int = 0
    next_comment: int = 1
    #: Other state the admin reset forgets too (the task board's).
    also_reset: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.next_project = self.first_project_id

    def reset(self) -> None:
        self.users.clear()
        self.projects.clear()
        self.next_project = self.first_project_id
        self.next_comment = 1
        for reset in self.also_reset:
            reset()

    def user(self, email: str) -> data.User | None:
        return data.USERS_BY_EMAIL.get(email) or self.users.get(email)

    def slug(self, name: str, project_id: int) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "project"
        return f"{base}-{secrets.token_hex(3)}" if self.random_slugs else f"{base}-{project_id}"


_WORKSPACE: Final = web.AppKey("workspace", Workspace)


def workspace(request: web.Request) -> Workspace:
    return request.app[_WORKSPACE]


def subject(request: web.Request) -> str | None:
    """The user id of a valid token this backend signed (strict on these routes), else None."""
    return data.token_subject(request.headers.get("Authorization"), workspace(request).key)


def project_record(project: Project, *, comment_count: int | None = None) -> dict[str, Any]:
    return {
        "id": project.id,
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "owner_id": project.owner_id,
        "comment_count": len(project.comments) if comment_count is None else comment_count,
    }


def add_routes(app: web.Application, space: Workspace, *, ok: Ok, fail: Fail) -> None:
    """Register the session routes on ``app``, answering with the backend's ``ok`` and ``fail``."""
    app[_WORKSPACE] = space

    def unauthorised() -> web.Response:
        return fail(401, "UNAUTHORIZED", "A valid bearer token is required.")

    async def json_body(request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def register(request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is None or not all(isinstance(body.get(k), str) and body[k] for k in ("email", "password")):
            return fail(400, "VALIDATION_ERROR", "email and password are required.")
        if space.user(body["email"]) is not None:
            return fail(409, "EMAIL_TAKEN", "An account with this email exists.")
        user = data.User(
            id=str(uuid.uuid4()),
            email=body["email"],
            password=body["password"],
            display_name=str(body.get("display_name") or body.get("displayName") or body["email"]),
            role="viewer",
            team=None,
            last_login_at=None,
        )
        space.users[user.email] = user
        return ok(data.user_record(user), status=201)

    def owned(request: web.Request, owner: str) -> Project | web.Response:
        try:
            project = space.projects.get(int(request.match_info["project_id"]))
        except ValueError:
            project = None
        if project is None or project.owner_id != owner:
            return fail(
                404, "PROJECT_NOT_FOUND", f"Project {request.match_info['project_id']} was not found."
            )
        return project

    async def create(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        body = await json_body(request)
        if body is None or not isinstance(body.get("name"), str) or not body["name"].strip():
            return fail(400, "VALIDATION_ERROR", "name is required.")
        project_id = space.next_project
        space.next_project += 1
        description = body.get("description")
        project = Project(
            project_id,
            space.slug(body["name"], project_id),
            body["name"].strip(),
            description if isinstance(description, str) else None,
            owner,
        )
        space.projects[project_id] = project
        response = ok(project_record(project), status=201)
        response.headers["Location"] = f"/api/v1/projects/{project_id}"
        return response

    async def list_projects(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        mine = [p for p in space.projects.values() if p.owner_id == owner]
        counts = None if space.list_counts_comments else 0
        items = [project_record(p, comment_count=counts) for p in mine]
        return ok({"items": items, "total_count": len(items)})

    async def get_project(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        found = owned(request, owner)
        return ok(project_record(found)) if isinstance(found, Project) else found

    async def by_slug(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        slug = request.match_info["slug"]
        for project in space.projects.values():
            if project.slug == slug and project.owner_id == owner:
                return ok(project_record(project))
        return fail(404, "PROJECT_NOT_FOUND", f"Project {slug} was not found.")

    async def update(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        found = owned(request, owner)
        if not isinstance(found, Project):
            return found
        body = await json_body(request)
        if body is None:
            return fail(400, "VALIDATION_ERROR", "a JSON object is required.")
        if isinstance(body.get("name"), str) and body["name"].strip():
            found.name = body["name"].strip()
        if "description" in body and (body["description"] is None or isinstance(body["description"], str)):
            found.description = body["description"]
        return ok(project_record(found))

    async def comment(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        found = owned(request, owner)
        if not isinstance(found, Project):
            return found
        body = await json_body(request)
        if body is None or not isinstance(body.get("body"), str) or not body["body"].strip():
            return fail(400, "VALIDATION_ERROR", "body is required.")
        comment_id: int | str = str(uuid.uuid4()) if space.uuid_comments else space.next_comment
        space.next_comment += 1
        record = {"id": comment_id, "project_id": found.id, "author_id": owner, "body": body["body"].strip()}
        found.comments.append(record)
        return ok(record, status=201)

    async def comments(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        found = owned(request, owner)
        if not isinstance(found, Project):
            return found
        return ok({"items": list(found.comments), "total_count": len(found.comments)})

    async def delete(request: web.Request) -> web.Response:
        owner = subject(request)
        if owner is None:
            return unauthorised()
        found = owned(request, owner)
        if not isinstance(found, Project):
            return found
        del space.projects[found.id]
        return web.Response(status=204)

    async def reset(request: web.Request) -> web.Response:
        space.reset()
        return web.Response(status=204)

    app.router.add_post("/api/v1/auth/register", register)
    app.router.add_get("/api/v1/projects", list_projects)
    app.router.add_post("/api/v1/projects", create)
    app.router.add_get(r"/api/v1/projects/{project_id:\d+}", get_project)
    app.router.add_patch(r"/api/v1/projects/{project_id:\d+}", update)
    app.router.add_delete(r"/api/v1/projects/{project_id:\d+}", delete)
    app.router.add_get("/api/v1/projects/by-slug/{slug}", by_slug)
    app.router.add_get(r"/api/v1/projects/{project_id:\d+}/comments", comments)
    app.router.add_post(r"/api/v1/projects/{project_id:\d+}/comments", comment)
    app.router.add_post("/api/v1/_admin/reset", reset)
