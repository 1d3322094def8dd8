"""Acceptance: a stateful session replayed through the real runner against two strict sample backends.

The backends sign their own tokens with different keys, reject each other's, and generate their own
user ids, project ids, slugs and comment ids. The captured session (register, login, create, read by
slug and id, update, comment, list, delete) must reach parity except for the seeded real differences,
with automatic correlation and with explicit ``[[correlate]]`` rules only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paritycheck import samples
from paritycheck.config import parse
from paritycheck.run import runner
from paritycheck.samples import record
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]

#: The demo's suggested settings (docs/demo.md): what remains is real. (The login expiry, now + 1 h on each
#: backend's clock, needs no rule: the run clock classes it.)
BASE: dict[str, Any] = {
    "replay": {"allow_writes": True, "concurrency": 8},
    "normalise": {
        "null_equals_missing": True,
        "float_tolerance": 1e-9,
        "ignore": ["$..meta.request_id", "$..meta.generated_at"],
    },
    "endpoint": [{"match": "GET /api/v1/kpis/{kpi_id}/tags", "unordered": ["$.tags"]}],
}
#: What an engineer writes when automatic detection is off.
RULES: list[dict[str, str]] = [
    {"match": "POST /api/v1/auth/login", "response": "$.access_token"},
    {"match": "POST /api/v1/auth/register", "response": "$.id", "name": "user"},
    {"match": "POST /api/v1/projects", "response": "$.id"},
    {"match": "POST /api/v1/projects", "response": "$.slug"},
    {"match": "POST /api/v1/projects/*/comments", "response": "$.id", "name": "comment"},
]
#: (endpoint, kind, path) of the seeded real differences (docs/demo.md 8, 9, 10 and 12).
SEEDED = {
    ("GET /api/v1/kpis/{id}", "status", "status"),
    ("GET /api/v1/kpis/{id}", "added", "$.detail"),
    ("GET /api/v1/kpis/{id}", "removed", "$.error"),
    ("GET /api/v1/kpis/{id}", "type", "$.target_value"),
    ("GET /api/v1/goals/{id}", "changed", "$.progress_percent"),
    ("GET /api/v1/projects", "changed", "$.items[*].comment_count"),  # grouped by shape
}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh recording (the committed one is checked against the same code in test_demo_capture)."""
    import asyncio

    out = tmp_path_factory.mktemp("capture") / "session.har"
    record.write_har(asyncio.run(record.record()), out)
    return out


async def replay(
    config_data: dict[str, Any], capture: Path, db: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    async with samples.running(summary_delay=0, strict_auth=True) as s:
        data = {**config_data, "backends": {"legacy": s.legacy_url, "candidate": s.candidate_url}}
        result = await runner.replay_captures(parse(data, source="test"), [capture], db=db)
    with Store.open(db, create=False) as store:
        meta = store.run(result.run_id).meta
    return result.summary.to_json(), meta


#: The task board and people pages: their seeded differences have their own acceptance test
#: (tests/samples/test_demo_verdicts.py); this one is about the projects session.
BOARD = ("/api/v1/tasks", "/api/v1/people/")


def differences(summary: dict[str, Any]) -> set[tuple[str, str, str]]:
    out = set()
    for e in summary["endpoints"]:
        if any(part in e["endpoint"] for part in BOARD):
            continue
        for d in e["differences"]:
            path = d["path"]
            if e["endpoint"] == "GET /api/v1/goals":
                path = "$.items[*].progress_percent" if path.endswith(".progress_percent") else path
            out.add((e["endpoint"], d["kind"], path))
    return out


def by_endpoint(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint"]: e for e in summary["endpoints"]}


@pytest.mark.parametrize("mode", ["automatic", "explicit rules"])
async def test_session_reaches_parity_except_seeded_differences(
    mode: str, capture: Path, tmp_path: Path
) -> None:
    config = dict(BASE)
    if mode == "explicit rules":
        config = {**config, "sessions": {"correlate": False}, "correlate": RULES}
    summary, meta = await replay(config, capture, tmp_path / "r.db")

    found = differences(summary) - {("GET /api/v1/goals", "changed", "$.items[*].progress_percent")}
    assert found == SEEDED, found
    assert summary["failed"] == 0 and summary["skipped"] == 0
    endpoints = by_endpoint(summary)
    projects = [name for name in endpoints if "/projects" in name and name != "GET /api/v1/projects"]
    assert len(projects) >= 7, projects  # create, by slug, read, update, comment, comments, delete
    for name in [*projects, "POST /api/v1/auth/register"]:
        assert endpoints[name]["mismatched"] == 0, (name, endpoints[name]["differences"])
    # Every successful login's answer matched: the tokens differ, but each is that backend's own.
    assert endpoints["POST /api/v1/auth/login"]["mismatched"] == 0

    sessions = meta["sessions"]
    assert sessions["writes"]["legacy"] == sessions["writes"]["candidate"] > 0
    applied = sessions["correlations"]["applied"]
    removed = sessions["correlations"]["differences_removed"]
    assert applied and removed
    if mode == "explicit rules":
        assert set(sessions["correlations"]["learned"]) <= {"access_token", "user", "id", "slug", "comment"}


async def test_without_sessions_the_same_capture_is_useless(capture: Path, tmp_path: Path) -> None:
    summary, _ = await replay({**BASE, "sessions": {"key": "none"}}, capture, tmp_path / "r.db")
    endpoints = by_endpoint(summary)
    # The captured ids and token are the legacy's: the candidate rejects them or knows no such project.
    assert endpoints["GET /api/v1/projects/{id}"]["mismatched"] > 0
    assert len(differences(summary) - SEEDED) > 5


async def test_committed_demo_capture_has_the_session_and_replays_to_parity(tmp_path: Path) -> None:
    har = json.loads((ROOT / "captures/auth.har").read_text())
    methods = {(e["request"]["method"], e["response"]["status"]) for e in har["log"]["entries"]}
    assert {("POST", 201), ("PATCH", 200), ("DELETE", 204)} <= methods
    summary, meta = await replay(BASE, ROOT / "captures/auth.har", tmp_path / "r.db")
    found = differences(summary) - {("GET /api/v1/goals", "changed", "$.items[*].progress_percent")}
    assert found == SEEDED
    assert meta["sessions"]["ordered"] == 1
