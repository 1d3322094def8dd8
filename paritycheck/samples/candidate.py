"""The candidate port of the KPI tracker API, as the Python (FastAPI-style) service answers it.

snake_case keys, bare payloads on success, ISO timestamps with ``+00:00``, absent optional fields left
out (``response_model_exclude_none``), binary floats. Errors keep the legacy envelope through an
exception handler, except where the port raises a bare ``HTTPException`` (seeded bug). The seeded
differences are marked ``SEEDED`` below; docs/demo.md lists them all.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from paritycheck.samples import board, data, live, projects

SERVER: Final = "uvicorn"
Sleep = Callable[[float], Awaitable[None]]

_STRICT: Final = web.AppKey("strict", bool)
_SUMMARY_DELAY: Final = web.AppKey("summary_delay", float)
_SLEEP: Final[web.AppKey[Sleep]] = web.AppKey("sleep")


def to_wire(value: Any) -> Any:
    """Serialise like Pydantic's JSON mode with ``exclude_none``: None-valued fields are dropped."""
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _meta() -> dict[str, Any]:
    return {"request_id": str(uuid.uuid4()), "generated_at": datetime.now(UTC)}


def ok(payload: dict[str, Any], *, status: int = 200) -> web.Response:
    """A bare success payload."""
    return _json(to_wire({**payload, "meta": _meta()}), status)


def fail(status: int, code: str, message: str) -> web.Response:
    """The error envelope, kept for the front end's error handling."""
    error = to_wire({"code": code, "message": message, "meta": _meta()})
    return _json({"success": False, "data": None, "error": error}, status)


def _json(body: Any, status: int) -> web.Response:
    headers = {"Server": SERVER}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: json.dumps(o, separators=(",", ":"))
    )


def _authorised(request: web.Request) -> bool:
    app = request.app
    return data.bearer_ok(request.headers.get("Authorization"), data.CANDIDATE_KEY, strict=app[_STRICT])


def _unauthorised() -> web.Response:
    return fail(401, "UNAUTHORIZED", "A valid bearer token is required.")


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


async def login(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        email, password = str(body["email"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return fail(400, "VALIDATION_ERROR", "email and password are required.")
    user = projects.workspace(request).user(email)
    if user is None or not secrets.compare_digest(user.password, password):
        return fail(401, "INVALID_CREDENTIALS", "Email or password is incorrect.")
    token = data.issue_token(data.CANDIDATE_KEY, user.id)
    payload = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
        "user": data.user_record(user),
    }
    response = ok(payload)
    response.set_cookie("kpi_session", secrets.token_hex(16), path="/", httponly=True, samesite="Lax")
    return response


async def me(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    return ok(data.user_record(data.USERS_BY_EMAIL[data.DEMO_EMAIL]))


async def list_kpis(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    try:
        page = _int_param(request, "page", 1) or 0
        size = _int_param(request, "pageSize", 20) or 20
    except ValueError:
        return fail(400, "VALIDATION_ERROR", "page and pageSize must be integers.")
    if page < 1:
        # SEEDED real difference (not in the capture; `paritycheck explore` finds it): the framework's
        # 422 validation error where the legacy answered 400.
        detail = [{"loc": ["query", "page"], "msg": "Input should be greater than or equal to 1"}]
        return _json({"detail": detail}, 422)
    # SEEDED real bug (not in the capture): the port forgot the pageSize <= 100 bound, so it accepts
    # what the legacy refused.
    items = [data.kpi_record(k) for k in data.KPIS]
    return ok(
        {
            "items": data.page_slice(items, page, size),
            "page": page,
            "page_size": size,
            "total_count": len(items),
        }
    )


async def get_kpi(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    kpi_id = int(request.match_info["kpi_id"])
    kpi = data.KPIS_BY_ID.get(kpi_id)
    if kpi is None:
        # SEEDED real bug: HTTPException(400) instead of 404, and it bypasses the error envelope.
        return _json({"detail": f"KPI {kpi_id} not found"}, 400)
    record = data.kpi_record(kpi)
    # SEEDED real bug / contract violation: the detail model declares target_value as Decimal, which
    # Pydantic's JSON mode writes as a string ("200000.00") where the contract says number.
    record["target_value"] = str(kpi.target_value)
    return ok(record)


async def kpi_tags(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _unauthorised()
    kpi = data.KPIS_BY_ID.get(int(request.match_info["kpi_id"]))
    if kpi is None:
        return fail(404, "KPI_NOT_FOUND", f"KPI {request.match_info['kpi_id']} was not found.")
    # SEEDED false mismatch: the ORM relationship is ordered by name, not by insertion.
    tags = [{"id": tag_id, "name": name} for tag_id, name in sorted(kpi.tags, key=lambda t: t[1])]
    return ok({"kpi_id": kpi.id, "tags": tags})


def buggy_progress(goal: data.Goal) -> int:
    """SEEDED real bug: integer division, so 2 of 3 is 66 where the legacy says 66.67."""
    return int(goal.current_value * 100 // goal.target_value)


def _goal(goal: data.Goal) -> dict[str, Any]:
    return data.goal_record(goal, buggy_progress(goal))


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
    # SEEDED real bug (not in the capture, which always sends a token; `paritycheck explore` finds it):
    # the port forgot the authorisation check, so it answers without credentials.
    # SEEDED slower endpoint: one query per KPI where the legacy code made one join.
    delay = request.app[_SUMMARY_DELAY]
    if delay > 0:
        await request.app[_SLEEP](delay)
    # SEEDED false mismatch: binary floats, so the weights add up to 1.0000000000000002.
    weight_total = sum(k.weight for k in data.KPIS)
    return ok({**data.summary_counts(), "weight_total": weight_total})


async def health(request: web.Request) -> web.Response:
    return ok({"status": "Healthy", "checks": {"database": "Healthy", "cache": "Healthy"}})


def make_app(
    *, strict_auth: bool = False, summary_delay: float = data.SUMMARY_DELAY_S, sleep: Sleep = asyncio.sleep
) -> web.Application:
    """The candidate application; ``summary_delay`` (seconds) slows the summary report via ``sleep``."""
    app = web.Application()
    app[_STRICT] = strict_auth
    app[_SUMMARY_DELAY] = summary_delay
    app[_SLEEP] = sleep
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
        data.CANDIDATE_KEY,
        first_project_id=1001,
        random_slugs=True,
        uuid_comments=True,
        # SEEDED real bug: the list's comment_count query was dropped in the port.
        list_counts_comments=False,
    )
    tasks = board.Board(legacy=False)
    space.also_reset.append(tasks.reset)
    projects.add_routes(app, space, ok=ok, fail=fail)
    board.add_routes(app, tasks, ok=ok, fail=fail)
    live.add_routes(app, candidate=True)
    return app
