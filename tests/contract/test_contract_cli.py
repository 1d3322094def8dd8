"""`paritycheck contract` and `replay --contract` end to end, on the bundled demo backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from paritycheck.contract import load_spec
from paritycheck.errors import ExitStatus
from paritycheck.samples import candidate, legacy
from paritycheck.store import Store
from tests.clirun import invoke
from tests.servers import serve

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "contracts" / "demo-api.yaml")
HAR = str(ROOT / "captures" / "auth.har")
CONFIG = str(ROOT / "paritycheck.toml")
#: The demo's seeded contract breaks, once key case and envelope are accepted (docs/demo.md).
REAL = {
    ("GET /api/v1/kpis/{kpi_id}", 200, "$.target_value", "type"),
    ("GET /api/v1/kpis/{kpi_id}", 400, "$.error", "required"),
}


def violations(report: dict[str, Any], side: str) -> set[tuple[str, int, str, str]]:
    return {
        (op["operation"], v["status"], v["path"], v["keyword"])
        for op in report["operations"]
        for v in op["violations"]
        if v["side"] == side
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("contract")


@pytest.fixture(scope="module")
def replayed(workdir: Path) -> Iterator[dict[str, Any]]:
    """One demo run replayed with --contract (raw), shared by the run-mode tests."""
    with serve(legacy.make_app()) as legacy_url, serve(candidate.make_app(summary_delay=0)) as candidate_url:
        result = invoke(
            "replay", HAR, "--config", CONFIG, "--legacy", legacy_url, "--candidate", candidate_url,
            "--db", "run.db", "--contract", SPEC, "--no-report", "--json", cwd=workdir,
        )  # fmt: skip
    assert result.exit_code == ExitStatus.DIFFERENCES, result.output
    yield json.loads(result.stdout)


def test_captures_mode_legacy_recordings_conform(tmp_path: Path) -> None:
    result = invoke("contract", SPEC, HAR, "--json", "--junit", "out/contract.xml", cwd=tmp_path)
    assert result.exit_code == ExitStatus.OK, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["mode"] == "raw"
    assert all(op["recorded_violations"] == 0 and op["seen"] > 0 for op in report["operations"])
    assert not (tmp_path / "run.db").exists() and not (tmp_path / "reports").exists()  # no database
    suite = ElementTree.parse(tmp_path / "out" / "contract.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_captures_mode_table(tmp_path: Path) -> None:
    result = invoke("contract", SPEC, HAR, cwd=tmp_path)
    assert result.exit_code == ExitStatus.OK
    assert "GET /api/v1/kpis/{kpi_id}" in result.stdout and "recorded violations" in result.stdout


def test_invalid_spec_and_usage_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("openapi: 3.0.3\npaths: [1]\n")
    bad = invoke("contract", "bad.yaml", HAR, cwd=tmp_path)
    assert bad.exit_code == ExitStatus.USAGE
    assert "bad.yaml" in bad.stderr and "hint:" in bad.stderr
    both = invoke("contract", SPEC, HAR, "--run", "1", cwd=tmp_path)
    assert both.exit_code == ExitStatus.USAGE
    no_db = invoke("contract", SPEC, "--db", "none.db", cwd=tmp_path)
    assert no_db.exit_code == ExitStatus.USAGE and "none.db" in no_db.stderr


def test_replay_validates_both_sides_and_stores_the_check(replayed: dict[str, Any], workdir: Path) -> None:
    report = replayed["contract"]
    assert report["mode"] == "raw" and report["ok"] is False
    assert all(op["legacy_violations"] == 0 for op in report["operations"])
    # Raw, the candidate breaks the wire contract on every reply: honest, and the real breaks are in there.
    found = violations(report, "candidate")
    assert ("GET /api/v1/health", 200, "$.success", "required") in found
    assert any(op["candidate_only"] for op in report["operations"])
    with Store.open(workdir / "run.db", create=False) as store:
        run_id = store.latest_run_id()
        stored = store.contract_checks(run_id)[0]  # the replay's own; later tests add more
        assert (stored.spec, stored.mode, stored.digest) == (SPEC, "raw", load_spec(SPEC).digest)
        assert stored.summary == report
        rows = list(store.contract_violations(stored.id))
        assert {r.side for r in rows} == {"candidate"}
        endpoints = {ex.id: ex.endpoint for ex in store.exchanges(run_id)}
        assert all(r.exchange_id is not None and endpoints[r.exchange_id] == r.operation for r in rows)
        assert "GET /api/v1/kpis/{kpi_id}" in store.counts(run_id)  # grouped by the spec's templates


def test_run_mode_raw_matches_the_live_check(replayed: dict[str, Any], workdir: Path) -> None:
    result = invoke("contract", SPEC, "--db", "run.db", "--raw", "--json", cwd=workdir)
    assert result.exit_code == ExitStatus.DIFFERENCES
    report = json.loads(result.stdout)
    live = {op["operation"]: op["candidate_violations"] for op in replayed["contract"]["operations"]}
    assert {op["operation"]: op["candidate_violations"] for op in report["operations"]} == live
    assert violations(report, "legacy") == set()


def test_run_mode_normalised_shows_only_the_real_violations(replayed: dict[str, Any], workdir: Path) -> None:
    result = invoke("contract", SPEC, "--db", "run.db", "--normalised", "--json", cwd=workdir)
    assert result.exit_code == ExitStatus.DIFFERENCES
    report = json.loads(result.stdout)
    assert report["mode"] == "normalised"
    assert violations(report, "legacy") == set()
    assert violations(report, "candidate") == REAL
    with Store.open(workdir / "run.db", create=False) as store:
        checks = store.contract_checks(store.latest_run_id())
        assert [c.mode for c in checks][-1] == "normalised"


def test_config_turns_normalised_on_and_raw_overrides(replayed: dict[str, Any], workdir: Path) -> None:
    (workdir / "n.toml").write_text("[contract]\nnormalised = true\n")
    table = invoke("contract", SPEC, "--db", "run.db", "--config", "n.toml", cwd=workdir)
    assert table.exit_code == ExitStatus.DIFFERENCES
    assert "(normalised)" in table.stdout and "candidate only" in table.stdout
    raw = invoke("contract", SPEC, "--db", "run.db", "--config", "n.toml", "--raw", "--json", cwd=workdir)
    assert json.loads(raw.stdout)["mode"] == "raw"
