"""paritycheck explore: coverage targeting, determinism under a seed, write safety, and the demo's
seeded validation and authorisation differences that the demo capture does not contain."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from paritycheck.capture import read
from paritycheck.cli import cli
from paritycheck.config import parse
from paritycheck.contract import load_contract
from paritycheck.errors import ExitStatus
from paritycheck.explore import explore, generate, load_schema
from paritycheck.explore.run import exercised_statuses, missing_statuses
from paritycheck.models import SAFE_METHODS
from paritycheck.run import replay_captures
from paritycheck.samples import Samples, running
from paritycheck.samples.data import DEMO_EMAIL, DEMO_PASSWORD
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "contracts" / "demo-api.yaml"
CAPTURE = ROOT / "captures" / "auth.har"
SUMMARY = "GET /api/v1/reports/summary"


@pytest.fixture(scope="module")
def schema() -> object:
    return load_schema(SPEC)


@pytest.fixture
async def samples() -> AsyncIterator[Samples]:
    async with running(summary_delay=0, strict_auth=True) as both:
        yield both


def config_for(samples: Samples, **replay: object):  # type: ignore[no-untyped-def]
    return parse(
        {
            "backends": {"legacy": samples.legacy_url, "candidate": samples.candidate_url},
            "replay": {"concurrency": 4, **replay},
            "normalise": {"key_case": "snake", "envelope": "auto", "timestamps": True},
            "auth": {"path": "/api/v1/auth/login", "body": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}},
        },
        source="test",
    )


def test_the_same_seed_gives_the_same_requests_and_another_seed_other_drawn_ones(schema: object) -> None:
    # Three operations (an integer and a string path parameter, a query) rather than the whole spec:
    # each operation is drawn on its own, and three generations of all of them took 3 s.
    targets = ["GET /api/v1/goals/{goal_id}", "GET /api/v1/people/{username}", "GET /api/v1/kpis"]
    first = generate(schema, targets=targets, seed=7, max_examples=6, allow_writes=False)
    again = generate(schema, targets=targets, seed=7, max_examples=6, allow_writes=False)
    other = generate(schema, targets=targets, seed=8, max_examples=6, allow_writes=False)
    assert {r.operation for r in first.requests} == set(targets)
    assert first.requests == again.requests
    drawn = [r for r in first.requests if r.description == "property-based example"]
    assert drawn, "some operations need property-based examples beyond the coverage phase's"
    assert drawn != [r for r in other.requests if r.description == "property-based example"]
    # the deterministic coverage-phase cases do not depend on the seed
    assert [r for r in first.requests if r.description != "property-based example"] == [
        r for r in other.requests if r.description != "property-based example"
    ]


def test_every_kind_of_probe_is_generated_and_labelled(schema: object) -> None:
    plan = generate(schema, targets=None, seed=1, max_examples=5, allow_writes=True)
    kinds = {r.kind for r in plan.requests}
    assert kinds >= {
        "valid",
        "missing-required",
        "wrong-type",
        "out-of-range",
        "no-credentials",
        "malformed-body",
    }
    by_op: dict[str, list[str]] = {}
    for r in plan.requests:
        by_op.setdefault(r.operation, []).append(r.kind)
    assert all(kinds.count("valid") <= 5 for kinds in by_op.values())
    malformed = next(r for r in plan.requests if r.kind == "malformed-body")
    assert malformed.body is not None
    with pytest.raises(ValueError):
        json.loads(malformed.body)
    no_credentials = [r for r in plan.requests if r.kind == "no-credentials"]
    assert no_credentials and all(
        not any(k.lower() == "authorization" for k, _ in r.headers) for r in no_credentials
    )
    # valid examples of secured operations carry the placeholder that [auth] replaces per backend
    secured = next(r for r in plan.requests if r.kind == "valid" and r.operation == "GET /api/v1/kpis")
    assert ("Authorization", "Bearer paritycheck-explore.bearerAuth") in secured.headers


def test_writes_are_generated_only_when_allowed(schema: object) -> None:
    safe = generate(schema, targets=None, seed=1, max_examples=3, allow_writes=False)
    assert {r.method for r in safe.requests} <= SAFE_METHODS
    assert "POST /api/v1/projects" in safe.skipped and "unsafe" in safe.skipped["POST /api/v1/projects"]
    writes = generate(schema, targets=None, seed=1, max_examples=3, allow_writes=True)
    assert {"POST", "PATCH", "DELETE"} <= {r.method for r in writes.requests}


async def test_targets_only_what_the_capture_and_the_store_did_not_exercise(
    tmp_path: Path, samples: Samples
) -> None:
    db = tmp_path / "r.db"
    config = config_for(samples)
    contract = load_contract(SPEC)
    health = contract.operation("GET", "/api/v1/health")
    assert health is not None and set(health.responses) == {"200", "default"}  # default is not a target
    # a capture that saw the health check answer 200 (all it documents) and the KPI list answer 200
    capture = tmp_path / "seen.jsonl"
    lines = [
        {"method": "GET", "url": "http://x/api/v1/health", "response": {"status": 200}},
        {"method": "GET", "url": "http://x/api/v1/kpis?page=1", "response": {"status": 200}},
    ]
    capture.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = await explore(config, SPEC, db=db, seed=1, max_examples=2, captures=[capture])
    sources = {c.operation: c.source for c in result.coverage}
    assert "GET /api/v1/health" not in result.plan.operations and sources["GET /api/v1/health"] == "capture"
    # the KPI list documents 400 and 401 too, which the capture never saw: it is still a target
    assert "GET /api/v1/kpis" in result.plan.operations
    assert sources["POST /api/v1/projects"] == "never"  # a write, not allowed
    # the stored run now counts: what its legacy answered is exercised for the next explore
    seen = exercised_statuses(contract, [], db)
    kpis = contract.operation("GET", "/api/v1/kpis")
    assert kpis is not None and {200, 400, 401} <= seen["GET /api/v1/kpis"]
    assert not missing_statuses(kpis, seen["GET /api/v1/kpis"])
    again = await explore(config, SPEC, db=db, seed=1, max_examples=2)
    assert "GET /api/v1/kpis" not in again.plan.operations
    everything = await explore(config, SPEC, db=db, seed=1, max_examples=2, all_operations=True)
    assert {"GET /api/v1/kpis", "GET /api/v1/health"} <= set(everything.plan.operations)


async def test_no_write_reaches_a_backend_without_allow_writes(tmp_path: Path, samples: Samples) -> None:
    result = await explore(
        config_for(samples), SPEC, db=tmp_path / "r.db", seed=3, max_examples=3, all_operations=True
    )
    with Store.open(tmp_path / "r.db", create=False) as store:
        methods = {x.method for x in store.exchanges(result.run.run_id)}
    assert methods <= SAFE_METHODS


async def test_the_demo_finds_the_seeded_refusals_the_capture_never_exercised(
    tmp_path: Path, samples: Samples
) -> None:
    config = config_for(samples)
    db = tmp_path / "r.db"
    saved = tmp_path / "regressions.har"
    result = await explore(config, SPEC, db=db, seed=5, max_examples=5, all_operations=True, save=saved)
    found = {(f.operation, f.kind, f.legacy_status, f.candidate_status) for f in result.findings}
    # the port forgot the authorisation check of the summary report
    assert (SUMMARY, "no-credentials", 401, 200) in found
    # and the pageSize <= 100 bound; and answers a page below 1 with the framework's 422
    accepted = [f for f in result.findings if f.accepts_refused]
    assert any(f.operation == "GET /api/v1/kpis" and "pageSize=101" in f.target for f in accepted)
    assert any(
        f.operation == "GET /api/v1/kpis" and (f.legacy_status, f.candidate_status) == (400, 422)
        for f in result.findings
    )
    assert result.findings[0].accepts_refused  # the headline comes first

    # none of these requests is in the demo capture (which always sends a token)
    def shape(method: str, target: str, headers: object) -> tuple[str, str, bool]:
        names = {k.lower() for k, _ in headers}  # type: ignore[attr-defined]
        return method, target, "authorization" in names

    captured = {
        shape(
            x.request.method,
            x.request.path + (f"?{x.request.query}" if x.request.query else ""),
            x.request.headers,
        )
        for x in read(CAPTURE)
    }
    for f in accepted:
        request = result.plan.requests[f.entry]
        assert shape(request.method, request.target, request.headers) not in captured
    # valid examples authenticate through [auth]: the secured reads answer 200 on both sides
    kpis = next(c for c in result.coverage if c.operation == "GET /api/v1/kpis")
    assert kpis.legacy.get(200, 0) > 0 and kpis.candidate.get(200, 0) > 0
    # the seed is stored with the run, and the saved capture reproduces the differences in a replay
    with Store.open(db, create=False) as store:
        assert store.run(result.run.run_id).meta["explore"]["seed"] == 5
    replayed = await replay_captures(config, [saved], db=db)
    assert replayed.summary.total == len(result.findings) and replayed.summary.mismatched > 0
    with Store.open(db, create=False) as store:
        pairs = [
            (x.legacy.status, x.candidate.status)
            for x in store.exchanges(replayed.run_id)
            if x.legacy is not None and x.candidate is not None
        ]
    assert sorted(pairs) == sorted((f.legacy_status, f.candidate_status) for f in result.findings)


def test_cli_explore_prints_coverage_and_fails_on_differences(tmp_path: Path) -> None:
    missing = CliRunner().invoke(
        cli, ["explore", str(tmp_path / "nope.yaml"), "--db", str(tmp_path / "r.db")]
    )
    assert missing.exit_code == ExitStatus.USAGE
    assert "nope.yaml" in missing.output and "Traceback" not in missing.output
    assert len([line for line in missing.stderr.splitlines() if line.startswith("error:")]) == 1


async def test_the_reports_show_the_coverage_of_a_generated_run(tmp_path: Path, samples: Samples) -> None:
    from paritycheck.report import write_reports

    db = tmp_path / "r.db"
    result = await explore(config_for(samples), SPEC, db=db, seed=2, max_examples=1, all_operations=True)
    with Store.open(db, create=False) as store:
        html, markdown = write_reports(
            store, result.run.run_id, html_path=tmp_path / "r.html", markdown_path=tmp_path / "r.md"
        )[:2]
    page = html.read_text()
    assert '<section id="explore">' in page and "seed 2" in page
    assert "GET /api/v1/kpis/{kpi_id}" in page and "never" in page  # writes were not generated
    text = markdown.read_text()
    assert "### Generated requests" in text
    never = "never: unsafe method (pass --allow-writes to generate writes)"
    assert f"| `POST /api/v1/projects` | {never} |" in text


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The demo backends in a child process (the CLI runs its own event loop)."""
    ready = tmp_path / "ready.json"
    command = [
        sys.executable,
        "-m",
        "paritycheck.samples",
        "serve",
        "--legacy-port",
        "0",
        "--candidate-port",
        "0",
    ]
    proc = subprocess.Popen([*command, "--summary-delay", "0", "--ready-file", str(ready)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the sample backends did not start"
        yield json.loads(ready.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_cli_explore_saves_a_capture_that_replay_reproduces(tmp_path: Path, served: dict[str, str]) -> None:
    config = tmp_path / "paritycheck.toml"
    config.write_text(
        f'[backends]\nlegacy = "{served["legacy"]}"\ncandidate = "{served["candidate"]}"\n'
        '[normalise]\nkey_case = "snake"\nenvelope = "auto"\n'
        f'[auth]\npath = "/api/v1/auth/login"\n'
        f'body = {{ email = "{DEMO_EMAIL}", password = "{DEMO_PASSWORD}" }}\n'
    )
    args = ["--config", str(config), "--db", str(tmp_path / "r.db"), "--no-report"]
    found = CliRunner().invoke(
        cli,
        [
            "explore",
            str(SPEC),
            "--all",
            "--max-examples",
            "2",
            "--save",
            str(tmp_path / "s.har"),
            "--json",
            *args,
        ],
    )
    assert found.exit_code == ExitStatus.DIFFERENCES, found.output
    data = json.loads(found.stdout)
    assert data["seed"] == 0 and data["accepts_refused"] >= 1 and data["saved"]
    assert {"operation", "source", "legacy_statuses", "candidate_statuses"} <= set(data["coverage"][0])
    shown = CliRunner().invoke(cli, ["explore", str(SPEC), "--all", "--max-examples", "1", *args])
    assert "candidate accepts what legacy refused" in shown.stdout and "coverage" in shown.stdout
    replayed = CliRunner().invoke(cli, ["replay", str(tmp_path / "s.har"), *args])
    assert replayed.exit_code == ExitStatus.DIFFERENCES, replayed.output


async def test_openapi_links_become_sequences_with_each_backends_own_id(
    tmp_path: Path, samples: Samples
) -> None:
    # The demo spec links createProject (201) to getProject and listComments by the new id. The legacy
    # and the port number projects differently, so only correlation makes the follow-up read succeed.
    config = config_for(samples)
    db = tmp_path / "r.db"
    result = await explore(
        config, SPEC, db=db, seed=4, max_examples=1, all_operations=True, allow_writes=True
    )
    linked = [i for i, r in enumerate(result.plan.requests) if r.kind == "stateful"]
    targets = {
        result.plan.requests[i].operation: i for i in linked if result.plan.requests[i].method == "GET"
    }
    assert set(targets) == {"GET /api/v1/projects/{project_id}", "GET /api/v1/projects/{project_id}/comments"}
    with Store.open(db, create=False) as store:
        by_entry = {x.entry: x for x in store.exchanges(result.run.run_id)}
    for entry in targets.values():
        x = by_entry[entry]
        assert x.legacy is not None and x.candidate is not None
        assert (x.legacy.status, x.candidate.status) == (200, 200), x.url
    # without --allow-writes there is no create, so no sequence
    reads = await explore(
        config_for(samples), SPEC, db=tmp_path / "r2.db", seed=4, max_examples=1, all_operations=True
    )
    assert not any(r.kind == "stateful" for r in reads.plan.requests)
