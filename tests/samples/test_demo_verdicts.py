"""Issue 12's acceptance on the bundled demo, replayed with the default rules only: every seeded real
difference is reported with its grade, no instant, token or template difference is, and ``suggest``
lists the order, null and omission rules as decisions (docs/demo.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from paritycheck import samples
from paritycheck.compare import ACCEPTS_REFUSED, ADDITIVE, BEHAVIOURAL, BREAKING
from paritycheck.config import Backend, NormaliseConfig, load
from paritycheck.noise.suggest import config_of_run, suggest
from paritycheck.run import replay_captures
from paritycheck.samples.board import PEOPLE
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "captures" / "auth.har"

#: (endpoint, kind, shape, detail) -> grade, for every seeded real difference that the capture exercises.
SEEDED = {
    # 8, 9, 10, 12: a wrong rounding, a status and body, a type, a dropped count
    ("GET /api/v1/goals/{id}", "changed", "$.progress_percent", ""): BEHAVIOURAL,
    ("GET /api/v1/kpis/{id}", "status", "status", "404→400"): BEHAVIOURAL,
    ("GET /api/v1/kpis/{id}", "type", "$.target_value", "number→string"): BREAKING,
    ("GET /api/v1/projects", "changed", "$.items[*].comment_count", ""): BEHAVIOURAL,
    # 23: an empty invite token on the legacy, a real one on the candidate (both secrets: redacted)
    ("GET /api/v1/people/{param}", "changed", "$.invite_token", ""): BEHAVIOURAL,
    # 24, 25: two status findings on one endpoint, and the renamed error envelope's field
    ("POST /api/v1/tasks", "status", "status", "200→201"): BEHAVIOURAL,
    ("POST /api/v1/tasks", "status", "status", "422→400"): BEHAVIOURAL,
    ("POST /api/v1/tasks", "added", "$.error.title", ""): ADDITIVE,
    # 26: the authorisation check the port forgot
    ("DELETE /api/v1/tasks/{id}", "status", "status", "401→204"): ACCEPTS_REFUSED,
    # 27: the list that loses its first element: one removed element, not one change per position
    ("GET /api/v1/tasks", "removed", "$.items[*]", ""): BREAKING,
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, int]:
    """The demo capture replayed as ``make demo`` does, with ``paritycheck.toml``'s default rules."""
    db = tmp_path_factory.mktemp("demo") / "r.db"
    config = load(ROOT / "paritycheck.toml")  # [normalise] at its defaults: no rule written by hand
    assert config.normalise == dataclasses.replace(
        NormaliseConfig(), compare_headers=config.normalise.compare_headers
    )
    # its one [[endpoint]] names the by-slug route (one slug cannot be learned); it carries no rule
    assert not [rule for rule in config.endpoint if rule.ignore or rule.unordered]

    async def replay() -> tuple[dict[str, Any], int]:
        async with samples.running(summary_delay=0) as s:
            backends = dataclasses.replace(
                config.backends, legacy=Backend(url=s.legacy_url), candidate=Backend(url=s.candidate_url)
            )
            replay = dataclasses.replace(config.replay, allow_writes=True)  # as `make demo` does
            result = await replay_captures(
                dataclasses.replace(config, backends=backends, replay=replay), [CAPTURE], db=db
            )
        return result.summary.to_json(), result.run_id

    summary, run_id = asyncio.run(replay())
    return summary, db, run_id


def groups(summary: dict[str, Any]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {
        (e["endpoint"], d["kind"], d["path"], d["detail"]): d
        for e in summary["endpoints"]
        for d in e["differences"]
    }


def test_every_seeded_real_difference_is_reported_with_its_grade(
    demo: tuple[dict[str, Any], Path, int],
) -> None:
    found = groups(demo[0])
    assert {key: found[key]["risk"] for key in SEEDED if key in found} == SEEDED
    # the list that lost its first element shows no changed element besides the removed one
    assert not [k for k in found if k[0] == "GET /api/v1/tasks" and k[1] == "changed"]
    # the renamed error envelope: the candidate wrote `errors`, and the report says so
    assert found[("POST /api/v1/tasks", "added", "$.error.title", "")]["wire"] == {
        "candidate": "$.errors.title"
    }
    # the empty token and the real one stay distinguishable though both are redacted
    invite = found[("GET /api/v1/people/{param}", "changed", "$.invite_token", "")]
    assert invite["legacy"] == "" and invite["candidate"].startswith("[redacted: ")


#: Seeded root cause (docs/demo.md) -> the signature of its finding, for those the capture exercises.
SEEDED_FINDINGS = {
    4: "removed null",  # description, ownerEmail, completedAt, team, lastLoginAt: null against left out
    5: "order *.tags",
    6: "changed *.weight_total",
    8: "changed *.progress_percent",
    9: "status 404→400",  # with the two error bodies as its detail
    10: "type number→string",
    12: "changed *.comment_count",
    23: "changed *.invite_token empty→value",
    24: "status 200→201",
    25: "status 422→400",  # with the renamed error envelope as its detail
    26: "status 401→204",
    27: "removed *.items[*]",
}


def test_one_finding_per_seeded_root_cause_refusal_first(demo: tuple[dict[str, Any], Path, int]) -> None:
    """Issue 21's acceptance: one finding per seeded root cause, the refusal first, the headline naming
    the top three."""
    summary = demo[0]
    found = summary["findings"]
    assert sorted(f["signature"] for f in found) == sorted(SEEDED_FINDINGS.values())
    first = found[0]
    assert first["signature"] == SEEDED_FINDINGS[26] and first["risk"] == ACCEPTS_REFUSED
    assert first["endpoints"] == ["DELETE /api/v1/tasks/{id}"]
    # the body of the refused delete comes with the status change: no finding of its own
    assert any(g["consequence"] and g["path"] == "$" for g in first["groups"])
    (validation,) = [f for f in found if f["signature"] == SEEDED_FINDINGS[25]]
    title = [g for g in validation["groups"] if g["path"] == "$.error.title"]
    assert title and title[0]["consequence"] and title[0]["wire"] == {"candidate": "$.errors.title"}
    headline = summary["headline"]
    assert headline.startswith(f"{len(SEEDED_FINDINGS)} findings: 1. {first['title']} 2. {found[1]['title']}")
    assert f"3. {found[2]['title']}" in headline


def test_no_instant_token_or_template_difference(demo: tuple[dict[str, Any], Path, int]) -> None:
    summary = demo[0]
    found = groups(summary)
    read_off_a_clock = ("created_at", "updated_at", "generated_at", "last_login_at", "expires_at")
    tokens = ("request_id", "access_token", ".token")
    for endpoint, kind, path, _detail in found:
        assert kind not in ("changed", "type") or not path.endswith(read_off_a_clock + tokens), (
            endpoint,
            path,
        )
    # the instants each backend wrote with its own clock are noise, with their evidence
    noise = {(e["endpoint"], n["path"]) for e in summary["endpoints"] for n in e["noise"]}
    assert ("GET /api/v1/tasks/{id}", "$.created_at") in noise
    assert ("POST /api/v1/auth/login", "$.expires_at") in noise  # now + 1 h on each backend's clock
    # usernames and slugs in paths are learned templates: one endpoint each, no literal value in a name
    endpoints = {e["endpoint"]: e for e in summary["endpoints"]}
    assert endpoints["GET /api/v1/people/{param}"]["total"] == len(PEOPLE)
    assert not [name for name in endpoints if any(person in name for person in PEOPLE)]
    assert not [name for name in endpoints if "q3-launch" in name]


def test_suggest_lists_order_null_and_omission_as_decisions(demo: tuple[dict[str, Any], Path, int]) -> None:
    _summary, db, run_id = demo
    with Store.open(db, create=False) as store:
        found = suggest(store, run_id, config_of_run(store.run(run_id)))
    decisions = {r.key for r in found.decisions}
    assert {"null_equals_missing", "unordered"} <= decisions
    assert not {r.key for r in found.rules if not r.decision} & {"null_equals_missing", "unordered"}
    merged = found.merged()
    assert not merged.normalise.null_equals_missing
    assert not any(rule.unordered for rule in merged.endpoint)
    text = found.to_toml()
    assert not any(person in text for person in PEOPLE)  # no [[endpoint]] block names one username


def test_the_demo_login_token_is_longer_than_the_display_bound() -> None:
    har = json.loads(CAPTURE.read_text(encoding="utf-8"))
    texts = [e["response"]["content"].get("text") or "" for e in har["log"]["entries"]]
    tokens = [json.loads(t)["data"]["accessToken"] for t in texts if '"accessToken"' in t]
    assert tokens and all(len(t) > 200 for t in tokens)
