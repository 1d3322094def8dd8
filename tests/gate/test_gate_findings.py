"""The gate judges findings: any refusal the candidate accepts fails the run on its own criterion, in
one line, whatever the parity; other grades have limits of their own; ``accept --finding`` accepts one."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from paritycheck.cli import cli
from paritycheck.config import GateConfig
from paritycheck.errors import ExitStatus
from paritycheck.gate import evaluate
from paritycheck.gate.accepted import load
from paritycheck.report import print_gate
from paritycheck.store import Store
from tests.findings.findhelpers import exchange, matched, run


def _hole(store: Store) -> int:
    """199 matching exchanges and one forgotten authorisation check: parity 99.5%."""
    return run(
        store,
        [
            *matched("DELETE /api/tasks/{id}", 199),
            exchange("DELETE /api/tasks/{id}", legacy_status=401, candidate_status=204),
        ],
    )


def test_a_forgotten_authorisation_check_fails_the_gate_in_one_line(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        run_id = _hole(store)
        result = evaluate(store, run_id, GateConfig(min_parity=99))
    assert not result.passed and [c.name for c in result.failures] == [
        "candidate accepts what legacy refused"
    ]
    buffer = io.StringIO()
    print_gate(result, Console(file=buffer, width=200, color_system=None))
    last = buffer.getvalue().strip().splitlines()[-1]
    what = "candidate accepts what legacy refused: DELETE /api/tasks/{id} 401 → 204"
    assert last == f"gate: FAIL (run {run_id}): {what}"
    (row,) = [c for c in result.to_json()["criteria"] if c["name"] == "candidate accepts what legacy refused"]
    assert (
        row["subject"] == "DELETE /api/tasks/{id} 401 → 204"
        and row["state"] == "fail"
        and row["measured"] == 1
    )


def test_limits_per_grade_and_turning_one_off(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        run_id = run(
            store,
            [
                exchange("GET /a", legacy_status=200, candidate_status=500),
                exchange("DELETE /b", legacy_status=403, candidate_status=204),
            ],
        )
        lenient = GateConfig(min_parity=0, max_failed=100, max_findings={"accepts-refused": -1})
        assert evaluate(store, run_id, lenient).passed
        strict = GateConfig(
            min_parity=0, max_failed=100, max_findings={"accepts-refused": -1, "server-error": 0}
        )
        result = evaluate(store, run_id, strict)
    assert [(c.name, c.measured) for c in result.failures] == [("server-error findings", 1)]


def test_accept_a_finding_from_the_command_line(tmp_path: Path) -> None:
    db, known = tmp_path / "g.db", tmp_path / "known.toml"
    with Store.open(db) as store:
        run_id = _hole(store)
    runner = CliRunner()
    until = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    accepted = runner.invoke(
        cli,
        [
            "accept",
            "--finding",
            "status 401→204",
            "--reason",
            "PORT-9",
            "--until",
            until,
            "--known",
            str(known),
        ],
    )
    assert accepted.exit_code == 0, accepted.output
    (entry,) = load(known).entries
    assert entry.finding == "status 401→204" and entry.endpoint == ""
    gated = runner.invoke(cli, ["gate", "--db", str(db), "--run", str(run_id), "--known", str(known)])
    assert gated.exit_code == ExitStatus.OK, gated.output
    both = runner.invoke(
        cli,
        [
            "accept",
            "--finding",
            "x",
            "--kind",
            "status",
            "--reason",
            "r",
            "--until",
            until,
            "--known",
            str(known),
        ],
    )
    assert both.exit_code == ExitStatus.USAGE and "leave out --kind and --path" in both.output
    neither = runner.invoke(cli, ["accept", "--reason", "r", "--until", until, "--known", str(known)])
    assert neither.exit_code == ExitStatus.USAGE and "--endpoint, --kind, --path missing" in neither.output
