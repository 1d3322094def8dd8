"""Seed data and rules shared by the two demo backends.

Records use snake_case keys and Python values (datetime, Decimal, None); each backend serialises them
its own way, which is where the seeded differences come from. Everything here is fixed: the only values
that change between calls are the noise fields each backend adds (request id, generated-at, tokens).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

#: Seed for anything derived rather than written out (goal ids), so every run serves the same data.
NAMESPACE: Final = uuid.UUID("5eed5eed-0000-4000-8000-00000000da7a")

GOAL_STATUSES: Final = ("on_track", "at_risk", "behind", "done")
ROLES: Final = ("admin", "manager", "viewer")

#: The candidate's summary report is slower by this much (its N+1 query, modelled as a sleep).
SUMMARY_DELAY_S: Final = 0.040

#: Credentials of the demo user the recorded session logs in with.
DEMO_EMAIL: Final = "ana.silva@example.com"
DEMO_PASSWORD: Final = "Kpi-demo-2024!"


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def goal_id(n: int) -> str:
    """The stable UUID of seeded goal ``n``."""
    return str(uuid.uuid5(NAMESPACE, f"goal-{n}"))


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    password: str
    display_name: str
    role: str
    team: str | None
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Kpi:
    id: int
    name: str
    unit: str
    current_value: float
    target_value: Decimal
    weight: float
    owner_id: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    #: In the legacy database's insertion order; the candidate sorts them by name.
    tags: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Goal:
    id: str
    kpi_id: int
    title: str
    status: str
    current_value: float
    target_value: float
    due_date: date
    owner_email: str | None
    completed_at: datetime | None
    updated_at: datetime


USERS: Final = (
    User(
        id="7d1c5a0e-3f6b-4c2a-9b1e-2a4f6c8d0e12",
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        display_name="Ana Silva",
        role="manager",
        team="Growth",
        last_login_at=_ts("2024-04-30T16:42:07.512300"),
    ),
    User(
        id="0b9e4d2c-8a7f-4e61-b3c5-d9f1a2e4c6b8",
        email="li.wei@example.com",
        password="Viewer-demo-2024!",
        display_name="Li Wei",
        role="viewer",
        team=None,
        last_login_at=None,
    ),
)

_ANA = USERS[0].id
_LI = USERS[1].id

# Weights sum to exactly 1 in decimal arithmetic but to 1.0000000000000002 in binary floats.
KPIS: Final = (
    Kpi(1, "Monthly recurring revenue", "EUR", 182_450.5, Decimal("200000.00"), 0.1, _ANA,
        "Sum of active subscriptions at month end.", _ts("2023-11-02T09:15:00.250000"),
        _ts("2024-05-01T10:00:00.123456"), ((3, "finance"), (1, "revenue"), (7, "board"))),
    Kpi(2, "Net promoter score", "points", 41.0, Decimal("50.00"), 0.2, _ANA,
        None, _ts("2023-11-02T09:16:12"), _ts("2024-04-28T08:30:45.900000"),
        ((5, "customer"), (2, "survey"))),
    Kpi(3, "Churn rate", "%", 2.35, Decimal("2.00"), 0.3, _LI,
        "Share of customers cancelling in the month.", _ts("2023-11-05T14:00:00"),
        _ts("2024-04-30T23:59:59.999999"), ((1, "revenue"), (5, "customer"), (4, "retention"))),
    Kpi(4, "Activation within 7 days", "%", 63.8, Decimal("70.00"), 0.1, _ANA,
        None, _ts("2024-01-10T11:20:30.400000"), _ts("2024-05-01T07:45:00"),
        ((6, "product"), (8, "onboarding"))),
    Kpi(5, "Support first response", "minutes", 47.0, Decimal("30.00"), 0.2, _LI,
        "Median time to first human reply.", _ts("2024-01-12T08:00:00"),
        _ts("2024-04-29T12:05:33.333000"), ((9, "support"), (5, "customer"), (10, "sla"))),
    Kpi(6, "Deploys per week", "count", 18.0, Decimal("20.00"), 0.1, _LI,
        None, _ts("2024-02-01T16:45:10.010000"), _ts("2024-04-26T17:00:00.500000"),
        ((11, "engineering"), (12, "delivery"))),
)  # fmt: skip

GOALS: Final = (
    Goal(goal_id(1), 1, "Reach 200k MRR", "on_track", 182_450.5, 200_000.0, date(2024, 6, 30),
         DEMO_EMAIL, None, _ts("2024-05-01T10:00:00.123456")),
    Goal(goal_id(2), 1, "Close 12 enterprise deals", "at_risk", 8.0, 12.0, date(2024, 6, 30),
         "sales-lead@example.com", None, _ts("2024-04-30T09:10:11.120000")),
    Goal(goal_id(3), 2, "NPS above 50", "behind", 41.0, 50.0, date(2024, 9, 30),
         None, None, _ts("2024-04-28T08:30:45.900000")),
    Goal(goal_id(4), 3, "Interview 30 churned customers", "done", 30.0, 30.0, date(2024, 3, 31),
         "li.wei@example.com", _ts("2024-03-28T15:20:00.700000"), _ts("2024-03-28T15:20:00.700000")),
    Goal(goal_id(5), 4, "Ship guided onboarding", "on_track", 2.0, 3.0, date(2024, 7, 15),
         DEMO_EMAIL, None, _ts("2024-04-22T13:00:00")),
    Goal(goal_id(6), 4, "Activation experiments", "at_risk", 5.0, 9.0, date(2024, 6, 1),
         None, None, _ts("2024-04-25T10:45:30.250000")),
    Goal(goal_id(7), 5, "Hire two support agents", "done", 2.0, 2.0, date(2024, 4, 15),
         "li.wei@example.com", _ts("2024-04-12T09:00:00"), _ts("2024-04-12T09:00:00")),
    Goal(goal_id(8), 5, "Cut first response to 30 min", "behind", 1.0, 3.0, date(2024, 8, 31),
         None, None, _ts("2024-04-29T12:05:33.333000")),
    Goal(goal_id(9), 6, "Trunk-based development", "on_track", 7.0, 12.0, date(2024, 10, 1),
         "eng-manager@example.com", None, _ts("2024-04-26T17:00:00.500000")),
)  # fmt: skip

KPIS_BY_ID: Final = {k.id: k for k in KPIS}
GOALS_BY_ID: Final = {g.id: g for g in GOALS}
USERS_BY_EMAIL: Final = {u.email: u for u in USERS}

# RFC 6750 b64token: what a well-formed bearer credential looks like.
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)")

#: Each backend signs its tokens with its own key, so neither accepts the other's (strict mode).
LEGACY_KEY: Final = b"kpi-legacy-demo-signing-key"
CANDIDATE_KEY: Final = b"kpi-candidate-demo-signing-key"
TOKEN_TTL: Final = timedelta(hours=1)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def issue_token(key: bytes, subject: str, *, now: datetime | None = None) -> str:
    """An HMAC-SHA256 signed token ``<payload>.<signature>`` for user ``subject``, valid for an hour."""
    now = now or datetime.now(UTC)
    claims = {
        "iss": "https://kpi.example.com/auth",
        "sub": subject,
        "exp": int((now + TOKEN_TTL).timestamp()),
        "jti": secrets.token_hex(8),
        # Scopes as identity servers write them: they take the token past the 200-character display
        # bound, which correlation must not compare against (issue 12, point 2).
        "scope": "kpis:read goals:read projects:write tasks:write",
    }
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def token_subject(authorization: str | None, key: bytes, *, now: datetime | None = None) -> str | None:
    """The user a bearer token signed with ``key`` and not expired stands for, else None."""
    if authorization is None:
        return None
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        return None
    payload, _, signature = match.group(1).partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    now = now or datetime.now(UTC)
    if (
        not isinstance(claims, dict)
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] <= now.timestamp()
    ):
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def bearer_ok(authorization: str | None, key: bytes, *, strict: bool = False) -> bool:
    """Whether an Authorization header lets the request in; the one place both backends check tokens.

    Non-strict (the default, for the read-only KPI routes) accepts any well-formed bearer token, so a
    capture recorded against the legacy backend replays against the candidate; strict accepts only an
    unexpired token signed with ``key`` (this backend's own). The session routes are always strict.
    """
    if strict:
        return token_subject(authorization, key) is not None
    return authorization is not None and _BEARER.fullmatch(authorization.strip()) is not None


def user_record(user: User) -> dict[str, Any]:
    """The public view of a user (no password)."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "team": user.team,
        "last_login_at": user.last_login_at,
    }


def kpi_record(kpi: Kpi) -> dict[str, Any]:
    """A KPI as both backends describe it (target as Decimal, tags not included)."""
    return {
        "id": kpi.id,
        "name": kpi.name,
        "unit": kpi.unit,
        "current_value": kpi.current_value,
        "target_value": kpi.target_value,
        "weight": kpi.weight,
        "owner_id": kpi.owner_id,
        "description": kpi.description,
        "created_at": kpi.created_at,
        "updated_at": kpi.updated_at,
    }


def goal_record(goal: Goal, progress_percent: float) -> dict[str, Any]:
    """A goal, with the progress figure each backend computes its own way."""
    return {
        "id": goal.id,
        "kpi_id": goal.kpi_id,
        "title": goal.title,
        "status": goal.status,
        "current_value": goal.current_value,
        "target_value": goal.target_value,
        "progress_percent": progress_percent,
        "due_date": goal.due_date.isoformat(),
        "owner_email": goal.owner_email,
        "completed_at": goal.completed_at,
        "updated_at": goal.updated_at,
    }


def correct_progress(goal: Goal) -> float:
    """Progress towards the target in percent, to two decimals (what the legacy code does)."""
    return round(goal.current_value / goal.target_value * 100, 2)


def goals_filtered(status: str | None, kpi_id: int | None) -> list[Goal]:
    """Goals matching the optional filters, in seed order."""
    return [
        g for g in GOALS if (status is None or g.status == status) and (kpi_id is None or g.kpi_id == kpi_id)
    ]


def summary_counts() -> dict[str, Any]:
    """The parts of the summary report both backends compute identically."""
    by_status = {s: sum(1 for g in GOALS if g.status == s) for s in GOAL_STATUSES}
    average = round(sum(correct_progress(g) for g in GOALS) / len(GOALS), 2)
    return {
        "period": "2024-Q2",
        "kpi_count": len(KPIS),
        "goal_count": len(GOALS),
        "goals_by_status": by_status,
        "average_progress_percent": average,
    }


def page_slice(items: list[Any], page: int, page_size: int) -> list[Any]:
    """One page of a list (pages start at 1)."""
    start = (page - 1) * page_size
    return items[start : start + page_size]
