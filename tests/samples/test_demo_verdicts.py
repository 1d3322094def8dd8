"""The demo replayed with the default rules only: every seeded real difference is reported with its
grade, and no instant, token or template difference is (issue 12's acceptance, on the bundled demo)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from paritycheck import samples
from paritycheck.config import Backend, NormaliseConfig, load
from paritycheck.gate import summarise
from paritycheck.noise.suggest import config_of_run, suggest
from paritycheck.run import replay_captures
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT / "captures" / "auth.har"


async def test_the_demo_reports_only_real_difference_kinds_each_with_its_grade(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    demo = load(ROOT / "paritycheck.toml")  # [normalise] at its defaults: no rule written by hand
    assert demo.normalise == dataclasses.replace(
        NormaliseConfig(), compare_headers=demo.normalise.compare_headers
    )
    async with samples.running(summary_delay=0) as s:
        config = dataclasses.replace(
            demo,
            backends=dataclasses.replace(
                demo.backends, legacy=Backend(url=s.legacy_url), candidate=Backend(url=s.candidate_url)
            ),
            replay=dataclasses.replace(demo.replay, allow_writes=True),  # as `make demo` does
        )
        result = await replay_captures(config, [CAPTURE], db=db)
    with Store.open(db, create=False) as store:
        summary = summarise(store, result.run_id, max_differences=None)
        found = suggest(store, result.run_id, config_of_run(store.run(result.run_id)))
    groups = {
        (e.endpoint, g.kind, g.path, g.detail): g.risk for e in summary.endpoints for g in e.differences
    }
    # every seeded real difference (docs/demo.md 8-10, 12), each with the right grade
    assert groups[("GET /api/v1/kpis/{id}", "type", "$.target_value", "number→string")] == "breaking"
    assert groups[("GET /api/v1/kpis/{id}", "status", "status", "404→400")] == "behavioural"
    assert any(k[0].startswith("GET /api/v1/goals") and k[2] == "$.progress_percent" for k in groups)
    assert groups[("GET /api/v1/projects", "changed", "$.items[*].comment_count", "")] == "behavioural"
    # no instant read off a clock during the run, no token, no request id, no literal id or slug in an
    # endpoint name. A login's expiry (now + 1 h) lies outside the run window, so it stays a difference
    # by the rule (a stored date an hour off would be a bug), and suggest offers it as a noise rule.
    clock_read = ("last_login_at", "generated_at", "request_id", "token", "created_at", "updated_at")
    for endpoint, kind, path, _detail in groups:
        assert kind != "changed" or not path.endswith(clock_read), path
        assert not path.endswith("expires_at") or endpoint == "POST /api/v1/auth/login", (endpoint, path)
        segments = endpoint.split(" ", 1)[1].split("/")
        assert not any(re.fullmatch(r"[0-9a-f-]*[0-9][0-9a-z-]*", s) and s != "v1" for s in segments), (
            endpoint
        )
    # the null for a missing key and the tags' order are decisions, never pasted as noise rules
    assert {r.key for r in found.decisions} >= {"null_equals_missing", "unordered"}
    assert not {r.key for r in found.rules if not r.decision} & {"null_equals_missing", "unordered"}
    assert any(r.key == "ignore" and r.value == "$.expires_at" and not r.decision for r in found.rules)
