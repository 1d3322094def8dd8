"""The legacy KPI tracker API, as the C# (ASP.NET) service answers it.

camelCase keys, a ``{"success", "data", "error"}`` envelope, timestamps with seven fraction digits and
``Z`` (.NET ticks), ``null`` for absent optional fields, decimal arithmetic. Every payload carries a
``meta`` object with a fresh request id and generation time: noise that changes on each call.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from paritycheck.samples import board, data, live, projects

SERVER: Final = "Kestrel"
_STRICT: Final = web.AppKey("strict", bool)


def camel(key: str) -> str:
    """``progress_percent`` -> ``progressPercent``."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def timestamp(value: datetime) -> str:
    """.NET round-trip format: seven fraction digits and Z."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def to_wire(value: Any) -> Any:
    """Serialise a record the way System.Text.Json does with the camelCase policy."""
    if isinstance(value, dict):
        return {camel(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _meta() -> dict[str, Any]:
    return {"request_id": str(uuid.uuid4()), "generated_at": datetime.now(UTC)}


def ok(payload: dict[str, Any], *, status: int = 200) -> web.Response:
    """A success envelope."""
    body = {"success": True, "data": to_wire({**payload, "meta": _meta()}), "error": None}
    return _json(body, status)


def fail(status: int, code: str, message: str) -> web.Response:
    """An error envelope."""
    error = to_wire({"code": code, "message": message, "meta": _meta()})
    return _json({"success": False, "data": None, "error": error}, status)


def _json(body: dict[str, Any], status: int) -> web.Response:
    headers = {"Server": SERVER}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: json.dumps(o, separators=(",", ":"))
    )


def _authorised(request: web.Request) -> bool:
    app = request.app
    return data.bearer_ok(request.headers.get("Authorization"), data.LEGACY_KEY, strict=app[_STRICT])


def _unauthorised() -> web.Response:
    return fail(401, "UNAUTHORIZED", "A valid bearer token is required.")


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)  # ValueError is turned into a 400 by the caller


async def login(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        email, password = str(body["email"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return fail(400, "VALIDATION_ERROR", "email and password are required.")
    user = projects.workspace(request).user(email)
    if user is None or not secrets.compare_digest(user.password, password):
        return fail(401, "INVALID_CREDENTIALS", "Email or password is incorrect.")
    token = data.issue_token(data.LEGACY_KEY, user.id)
    payload = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
        "user": data.user_record(user),
    }
    response = ok(payload)
    response.set_cookie(".KpiTracker.Session", secrets.token_hex(16), path="/", httponly=True, samesite="Lax")
    return response


async def me(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    # Tokens are not bound to users until strict auth lands: everyone is the demo user.
    return ok(data.user_record(data.USERS_BY_EMAIL[data.DEMO_EMAIL]))


async def list_kpis(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    try:
        page = _int_param(request, "page", 1) or 0
        size = _int_param(request, "pageSize", 20) or 0
    except ValueError:
        return fail(400, "VALIDATION_ERROR", "page and pageSize must be integers.")
    if page < 1 or not 1 <= size <= 100:
        return fail(400, "VALIDATION_ERROR", "page must be at least 1 and pageSize between 1 and 100.")
    items = [data.kpi_record(k) for k in data.KPIS]
    return ok(
        {
            "items": data.page_slice(items, page, size),
            "page": page,
            "page_size": size,
            "total_count": len(items),
        }
    )


def _kpi(request: web.Request) -> data.Kpi | None:
    return data.KPIS_BY_ID.get(int(request.match_info["kpi_id"]))


async def get_kpi(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    kpi = _kpi(request)
    if kpi is None:
        return fail(404, "KPI_NOT_FOUND", f"KPI {request.match_info['kpi_id']} was not found.")
    return ok(data.kpi_record(kpi))


async def kpi_tags(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    kpi = _kpi(request)
    if kpi is None:
        return fail(404, "KPI_NOT_FOUND", f"KPI {request.match_info['kpi_id']} was not found.")
    # Insertion order of the KpiTags join table.
    tags = [{"id": tag_id, "name": name} for tag_id, name in kpi.tags]
    return ok({"kpi_id": kpi.id, "tags": tags})


def _goal(goal: data.Goal) -> dict[str, Any]:
    return data.goal_record(goal, data.correct_progress(goal))


async def list_goals(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    status = request.query.get("status") or None
    if status is not None and status not in data.GOAL_STATUSES:
        return fail(400, "VALIDATION_ERROR", f"status must be one of {', '.join(data.GOAL_STATUSES)}.")
    try:
        kpi_id = _int_param(request, "kpiId", None)
    except ValueError:
        return fail(400, "VALIDATION_ERROR", "kpiId must be an integer.")
    items = [_goal(g) for g in data.goals_filtered(status, kpi_id)]
    return ok({"items": items, "page": 1, "page_size": len(items), "total_count": len(items)})


async def get_goal(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    goal = data.GOALS_BY_ID.get(request.match_info["goal_id"].lower())
    if goal is None:
        return fail(404, "GOAL_NOT_FOUND", f"Goal {request.match_info['goal_id']} was not found.")
    return ok(_goal(goal))


async def summary(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    # C# decimal: the weights add up to exactly 1.
    weight_total = sum((Decimal(str(k.weight)) for k in data.KPIS), Decimal(0))
    return ok({**data.summary_counts(), "weight_total": weight_total})


async def health(request: web.Request) -> web.Response:
    return ok({"status": "Healthy", "checks": {"database": "Healthy", "cache": "Healthy"}})


def make_app(*, strict_auth: bool = False) -> web.Application:
    """The legacy application; ``strict_auth`` accepts only tokens it issued itself."""
    app = web.Application()
    app[_STRICT] = strict_auth
    app.router.add_post("/api/v1/auth/login", login)
    app.router.add_get("/api/v1/auth/me", me)
    app.router.add_get("/api/v1/kpis", list_kpis)
    app.router.add_get(r"/api/v1/kpis/{kpi_id:\d+}", get_kpi)
    app.router.add_get(r"/api/v1/kpis/{kpi_id:\d+}/tags", kpi_tags)
    app.router.add_get("/api/v1/goals", list_goals)
    app.router.add_get("/api/v1/goals/{goal_id}", get_goal)
    app.router.add_get("/api/v1/reports/summary", summary)
    app.router.add_get("/api/v1/health", health)
    space = projects.Workspace(
        data.LEGACY_KEY,
        first_project_id=1,
        random_slugs=False,
        uuid_comments=False,
    )
    tasks = board.Board(legacy=True)
    space.also_reset.append(tasks.reset)
    projects.add_routes(app, space, ok=ok, fail=fail)
    board.add_routes(app, tasks, ok=ok, fail=fail)
    live.add_routes(app, candidate=False)
    return app
