"""``paritycheck rollout start`` and ``rollout status``: exit codes 0 advance, 75 hold, 1 roll back, 2
usage; ``--json``; cohorts from ``--access-log``, kept with the verdict and shown in the report; and
one real process, as an Argo Rollouts job runs it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from paritycheck.cli import cli
from paritycheck.report import write_html
from paritycheck.store import Store
from tests.rollout.cohorts import cohorts
from tests.rollout.rollouthelpers import SEED, window

PLAN = SEED.replace('min_duration = "24h"', 'min_duration = "0s"').replace(
    'min_duration = "72h"', 'min_duration = "0s"'
)


def run(tmp_path: Path, *args: str) -> click.testing.Result:
    db, config = str(tmp_path / "r.db"), str(tmp_path / "paritycheck.toml")
    return CliRunner().invoke(cli, [*args, "--db", db, "--config", config])


def setup(tmp_path: Path, plan: str = PLAN) -> None:
    (tmp_path / "paritycheck.toml").write_text(plan, encoding="utf-8")


def test_start_status_hold_advance_and_roll_back(tmp_path: Path) -> None:
    setup(tmp_path)
    assert run(tmp_path, "rollout", "status").exit_code == 2  # no database yet
    started = run(tmp_path, "rollout", "start", "10%")
    assert started.exit_code == 0, started.output
    assert "step 1 (10%, 10% of traffic) began at" in started.output
    held = run(tmp_path, "rollout", "status")
    assert held.exit_code == 75
    assert held.output.startswith("HOLD at step 1 (10%): samples: 100 more exchanges (0 of 100)")
    assert "exit status 75 (hold)" in held.output
    with Store.open(tmp_path / "r.db", create=False) as store:
        window(store, 100)
    advanced = run(tmp_path, "rollout", "status", "--json")
    assert advanced.exit_code == 0
    data = json.loads(advanced.output)
    assert (data["decision"], data["next"]["number"]) == ("advance", 2)
    with Store.open(tmp_path / "r.db", create=False) as store:
        window(store, 90, bad=10)
    back = run(tmp_path, "rollout", "status")
    assert back.exit_code == 1
    assert back.output.startswith("ROLL BACK at step 1 (10%): error rate 10% in run 2 (at least 6.072%")
    assert "rollback trigger: error rate 10% in run 2" in back.output
    assert "rollback trigger: error rate 5.263% in the step so far" not in back.output  # 5.3%: not evidence


def test_usage_errors_name_the_fix(tmp_path: Path) -> None:
    setup(tmp_path)
    bad = run(tmp_path, "rollout", "start", "7")
    assert bad.exit_code == 2 and "there is no rollout step '7'" in bad.output and "1 (10%)" in bad.output
    assert run(tmp_path, "rollout", "start", "1", "--at", "yesterday").exit_code == 2
    run(tmp_path, "rollout", "start", "1")
    bad = run(tmp_path, "rollout", "status", "--wait", "--poll", "often")
    assert bad.exit_code == 2 and "not a duration" in bad.output
    setup(tmp_path, "")
    none = run(tmp_path, "rollout", "status")
    assert none.exit_code == 2 and "has no [[rollout.step]]" in none.output


def test_wait_gives_up_at_the_timeout_and_step_follows_the_controller(tmp_path: Path) -> None:
    setup(tmp_path)
    result = run(
        tmp_path, "rollout", "status", "--step", "2", "--wait", "--poll", "0.05s", "--timeout", "0.2s"
    )
    assert result.exit_code == 75
    with Store.open(tmp_path / "r.db", create=False) as store:
        assert [(s.step, s.source["by"]) for s in store.rollout_steps()] == [(2, "rollout status --step")]


def test_cohorts_from_access_logs_hold_a_worse_candidate_and_reach_the_report(tmp_path: Path) -> None:
    setup(
        tmp_path, PLAN + '[rollout.cohorts]\nby = "cohort"\nlegacy = ["legacy"]\ncandidate = ["candidate"]\n'
    )
    run(
        tmp_path,
        "rollout",
        "start",
        "1",
        "--at",
        (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
    )
    log = tmp_path / "split.json"
    now = dt.datetime.now(dt.UTC).isoformat()
    lines = [
        {"method": r.method, "path": r.path, "status": r.status, "ms": r.ms, "cohort": r.cohort, "time": now}
        for r in cohorts(3, slower=1.2)
    ]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    result = run(tmp_path, "rollout", "status", "--access-log", str(log), "--json")
    assert result.exit_code == 75, result.output
    data = json.loads(result.output)
    assert data["evidence"]["cohort_requests"] == 20_000 and data["canary"]["verdict"] == "high"
    assert any(
        m["what"] == "criterion" and m["detail"].startswith("cohorts: latency p50") for m in data["missing"]
    )
    with Store.open(tmp_path / "r.db", create=False) as store:
        html = (
            write_html(store, None, tmp_path / "index.html").read_text(encoding="utf-8")
            if store.runs()
            else ""
        )
    assert html == ""  # no run yet: the report needs one; the verdict is kept for it
    with Store.open(tmp_path / "r.db", create=False) as store:
        window(store, 10)
        html = write_html(store, None, tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="canary-table"' in html and 'data-verdict="high"' in html


def test_a_real_process_as_an_argo_job_runs_it(tmp_path: Path) -> None:
    setup(tmp_path)
    db = str(tmp_path / "r.db")
    command = [sys.executable, "-m", "paritycheck", "rollout", "status", "--step", "1", "--db", db]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 75, done.stderr
    assert done.stdout.startswith("HOLD at step 1 (10%)")
