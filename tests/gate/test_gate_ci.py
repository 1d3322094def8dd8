"""docs/ci.md end to end: the GitHub job's steps run twice against the demo backends, as CI would run them.

The workflow is read from the page itself, so the documentation cannot drift from what is tested.
``uses:`` steps (checkout, cache, artifacts, reporters) belong to the CI system and are not run; the
install step is not run because the tests use the working tree. ``$GITHUB_ENV`` and
``$GITHUB_STEP_SUMMARY`` behave as on a runner, and ``if: ${{ !cancelled() }}`` / ``always()`` steps run
after a failed one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"
NOT_RUN = {"Install paritycheck"}
#: The commands (and options) the documented steps need from the CLI.
NEEDED = {
    "replay": ("--legacy", "--candidate", "--db"),
    "history": ("--db", "--json"),
    "gate": ("--db", "--markdown", "--json", "--config"),
    "report": ("--db", "--html", "--markdown", "--junit"),
}

pytestmark = pytest.mark.slow


def yaml_blocks() -> list[dict[str, Any]]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return [yaml.load(block, Loader=yaml.CSafeLoader) for block in blocks]


def github_job() -> dict[str, Any]:
    (workflow,) = [b for b in yaml_blocks() if "jobs" in b]
    job: dict[str, Any] = workflow["jobs"]["parity"]
    return job


def gitlab_job() -> dict[str, Any]:
    (block,) = [b for b in yaml_blocks() if "parity-nightly" in b]
    job: dict[str, Any] = block["parity-nightly"]
    return job


def paritycheck_commands(lines: list[str]) -> list[str]:
    """The ``python -m paritycheck ...`` invocations, normalised to one line each."""
    out = []
    for text in lines:
        for line in text.replace("\\\n", " ").splitlines():
            m = re.search(r"python -m paritycheck(\.samples)? .*", line)
            if m:
                command = m.group()
                command = re.sub(r"\s*\|\|.*$", "", command)  # exit-status handling differs per CI
                out.append(" ".join(command.split()))
    return out


def missing_cli() -> list[str]:
    """Commands or options of NEEDED that the CLI does not have (read from its click commands, in process:
    four ``--help`` processes cost ~1 s of CPU)."""
    from paritycheck.cli import cli

    missing = []
    for command, options in NEEDED.items():
        found = cli.commands.get(command)
        if found is None:
            missing.append(command)
        else:
            known = {opt for param in found.params for opt in param.opts}
            missing += [f"{command} {o}" for o in options if o not in known]
    return missing


def test_both_workflows_run_the_same_paritycheck_commands() -> None:
    github = [s["run"] for s in github_job()["steps"] if "run" in s and s.get("name") not in NOT_RUN]
    gitlab = [line for line in gitlab_job()["script"] if "pip install" not in line]
    assert paritycheck_commands(github) == paritycheck_commands(gitlab)
    assert {s.get("name") for s in github_job()["steps"]} >= NOT_RUN  # the skipped step still exists
    # Every command is there: the test below runs them all.
    assert [c.split()[3] for c in paritycheck_commands(github)] == [
        "serve",
        "replay",
        "history",
        "gate",
        "report",
    ]


class Runner:
    """Runs a GitHub job's ``run:`` steps in ``workdir`` the way a runner does."""

    def __init__(self, workdir: Path, job: dict[str, Any]) -> None:
        self.workdir = workdir
        self.job = job
        self.github_env = workdir / ".github_env"
        self.summary = workdir / ".step_summary"
        bindir = workdir / ".bin"
        bindir.mkdir(exist_ok=True)
        # A wrapper, not a symlink: a symlinked venv interpreter would not find its venv.
        python = bindir / "python"
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
        self.base_env = {
            **os.environ,
            **{k: str(v) for k, v in job.get("env", {}).items()},
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "GITHUB_ENV": str(self.github_env),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "NO_COLOR": "1",
            "COLUMNS": "160",
        }

    def env(self) -> dict[str, str]:
        extra = {}
        if self.github_env.exists():
            for line in self.github_env.read_text().splitlines():
                key, _, value = line.partition("=")
                extra[key] = value
        return {**self.base_env, **extra}

    def run(self) -> dict[str, subprocess.CompletedProcess[str]]:
        """Run every step in order; return the completed processes by step name."""
        self.github_env.write_text("")
        results: dict[str, subprocess.CompletedProcess[str]] = {}
        failed = False
        for step in self.job["steps"]:
            if "run" not in step or step.get("name") in NOT_RUN:
                continue
            condition = str(step.get("if", ""))
            if failed and "!cancelled()" not in condition and "always()" not in condition:
                continue
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-e", "-c", step["run"]],
                cwd=self.workdir,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            results[step["name"]] = done
            failed = failed or done.returncode != 0
        return results


def stop_backends(workdir: Path) -> None:
    """Safety net: stop the demo backends this test started, by their recorded pid."""
    pid_file = workdir / "reports" / "backends.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_documented_github_job_runs_end_to_end_twice(tmp_path: Path) -> None:
    assert missing_cli() == [], "docs/ci.md uses commands or options the CLI does not have"
    shutil.copytree(ROOT / "captures", tmp_path / "captures")
    shutil.copy(ROOT / "paritycheck.toml", tmp_path / "paritycheck.toml")
    runner = Runner(tmp_path, github_job())
    reports = tmp_path / "reports"
    try:
        for night in (1, 2):
            results = runner.run()
            log = "\n".join(f"--- {n}: {r.returncode}\n{r.stdout}\n{r.stderr}" for n, r in results.items())
            for name in ("Start the backends", "Replay the captures", "History", "Reports", "Job summary"):
                assert results[name].returncode == 0, log
            gate = results["Gate"]
            assert gate.returncode in (0, 1), log
            verdict = "PASS" if gate.returncode == 0 else "FAIL"
            assert f"gate: {verdict}" in gate.stdout, log
            gate_md = (reports / "gate.md").read_text()
            assert gate_md.startswith(f"## Gate: {verdict}")
            summary = runner.summary.read_text()
            assert summary.count("## Gate:") == night  # appended each night, as on a runner
            assert (reports / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
            assert ET.parse(reports / "junit.xml").getroot().tag in ("testsuites", "testsuite")
            assert (reports / "summary.md").stat().st_size > 0
            assert results["Stop the backends"].returncode == 0
            pid = int((reports / "backends.pid").read_text())
            subprocess.run(
                [
                    "bash",
                    "-c",
                    f"for _ in $(seq 50); do kill -0 {pid} 2>/dev/null || exit 0; sleep 0.1; done",
                ],
                check=False,
            )
            assert not alive(pid)

            # The gate's exit status agrees with its JSON verdict on the same database.
            as_json = subprocess.run(
                [sys.executable, "-m", "paritycheck", "gate", "--db", "reports/paritycheck.db", "--json"],
                cwd=tmp_path,
                env=runner.env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert as_json.returncode == gate.returncode, as_json.stderr
            assert json.loads(as_json.stdout)["verdict"] == verdict.lower()

        # The database was kept between the nights: the history has both runs.
        history = subprocess.run(
            [sys.executable, "-m", "paritycheck", "history", "--db", "reports/paritycheck.db", "--json"],
            cwd=tmp_path,
            env=runner.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs = json.loads(history.stdout)
        runs = runs["runs"] if isinstance(runs, dict) else runs
        assert [r["run_id"] for r in runs] == [1, 2]
        assert all(r["gate"] in ("pass", "fail") for r in runs)
    finally:
        stop_backends(tmp_path)
