"""What the CLI prints and where: one --json convention, errors about this command's own run, --open."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from paritycheck.cli import cli
from paritycheck.errors import ExitStatus
from tests.harutil import gets, replay_args, write_har
from tests.servers import json_serve
from tests.test_cli import PATHS, invoke, routes


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_har(tmp_path / "c.har", gets("https://prod.example.com", PATHS))


def test_every_json_option_follows_one_convention() -> None:
    from paritycheck.cli.base import _JsonTarget

    commands = {name: c for name, c in cli.commands.items() if any(p.name == "json_to" for p in c.params)}
    assert {"replay", "explore", "report", "gate", "history", "contract", "noise"} <= set(commands)
    for name, command in cli.commands.items():
        for param in command.params:
            if "--json" in getattr(param, "opts", ()):
                assert isinstance(param.type, _JsonTarget), name
                assert param.name == "json_to" and param.flag_value == "-", name


def test_json_goes_to_stdout_by_default_or_with_dash_and_to_a_file_when_named(
    tmp_path: Path, capture: Path
) -> None:
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        invoke(*replay_args(str(capture), legacy.url, cand.url), "--db", "r.db", "--no-report", cwd=tmp_path)
    for args in (["--json"], ["--json", "-"]):
        shown = invoke("report", "--db", "r.db", *args, cwd=tmp_path)
        assert json.loads(shown.stdout)["total"] == len(PATHS), args
        assert not (tmp_path / "-").exists()
    written = invoke("gate", "--db", "r.db", "--json", "out/verdict.json", cwd=tmp_path)
    assert json.loads((tmp_path / "out/verdict.json").read_text())["verdict"]
    assert written.stdout.strip() and not written.stdout.lstrip().startswith("{")  # the table, for people
    assert "wrote out/verdict.json" in written.stderr
    # A capture after --json is not taken for the file to write: that would overwrite it.
    refused_file = CliRunner().invoke(cli, ["replay", "--json", str(capture), "--db", str(tmp_path / "r.db")])
    assert refused_file.exit_code == ExitStatus.USAGE
    assert "is not a .json file or -" in refused_file.output
    assert capture.read_text().startswith("{") and "log" in json.loads(capture.read_text())


def test_a_missing_capture_is_one_error_not_news_of_the_previous_run(tmp_path: Path, capture: Path) -> None:
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        invoke(*replay_args(str(capture), legacy.url, cand.url), "--db", "r.db", "--no-report", cwd=tmp_path)
        missing = invoke(
            *replay_args("missing.gor.gz", legacy.url, cand.url), "--db", "r.db", "--no-report", cwd=tmp_path
        )
        cut = tmp_path / "cut.har"
        cut.write_text(capture.read_text()[: len(capture.read_text()) * 2 // 3])
        args = replay_args(str(cut), legacy.url, cand.url)
        broken = invoke(*args, "--db", "r.db", "--no-report", cwd=tmp_path)
    assert missing.exit_code == ExitStatus.USAGE
    assert missing.stderr.splitlines()[0] == "error: missing.gor.gz: no such file"
    assert "run " not in missing.stderr and "did not finish" not in missing.stderr
    # A capture cut in half stops its own run, which is the one described.
    assert broken.exit_code == ExitStatus.USAGE
    assert broken.stderr.startswith("run capture error (a capture could not be read to its end)")


def test_report_open_without_a_browser_says_so(tmp_path: Path, capture: Path) -> None:
    import subprocess
    import sys

    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        invoke(*replay_args(str(capture), legacy.url, cand.url), "--db", "r.db", "--no-report", cwd=tmp_path)
    # No display, and a BROWSER that fails: what a CI runner or an SSH session has.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["BROWSER"] = "false"
    done = subprocess.run(
        [sys.executable, "-m", "paritycheck", "report", "--db", "r.db", "--html", "r.html", "--open"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == ExitStatus.OK, done.stderr
    assert (tmp_path / "r.html").exists()
    assert (
        f"warning: no browser could be opened; open {(tmp_path / 'r.html').as_uri()} yourself" in done.stderr
    )


def test_a_dry_run_writes_its_json_plan_into_a_file(tmp_path: Path, capture: Path) -> None:
    done = invoke(
        *replay_args(str(capture), "http://127.0.0.1:9", "http://127.0.0.1:10"),
        "--dry-run", "--json", "out/plan.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.exit_code == ExitStatus.OK, done.output
    plan = json.loads((tmp_path / "out/plan.json").read_text())
    assert plan["would_send"] == len(PATHS) and len(plan["requests"]) == len(PATHS)
    assert "wrote out/plan.json" in done.stderr and "{" not in done.stdout
