"""The manifests docs/rollout.md gives to copy: Argo Rollouts' against its published schemas (npm's
@kubernetes-models/argo-rollouts, installed by ``make crd-models``), and every one against what
paritycheck serves: the admin routes they call, the decisions they test, the command a job runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from paritycheck.cli import cli
from paritycheck.rollout import DECISIONS, FLAGGER_HOOKS

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("PARITYCHECK_CRD_MODELS", ROOT / ".cache" / "crd" / "node_modules"))
#: Webhook types Flagger knows (docs/gitbook/usage/webhooks.md of fluxcd/flagger).
FLAGGER_TYPES = {"confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion",
                 "post-rollout", "rollback", "event"}  # fmt: skip
VALIDATE = """
import * as models from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const out = JSON.parse(text).map((doc) => {
  try { new models[doc.kind](doc).validate(); return null; }
  catch (e) { return `${doc.kind} ${doc.metadata.name}: ${e.message}`; }
});
console.log(JSON.stringify(out));
"""


def manifests() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "rollout.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    docs = [d for block in blocks for d in yaml.load_all(block, Loader=yaml.CSafeLoader)]
    return [d for d in docs if isinstance(d, dict) and "apiVersion" in d]


def _argo() -> list[dict[str, Any]]:
    return [d for d in manifests() if d["apiVersion"] == "argoproj.io/v1alpha1"]


def test_the_page_gives_both_controllers_manifests() -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in manifests())
    assert kinds == [
        ("AnalysisTemplate", "paritycheck-begin"), ("AnalysisTemplate", "paritycheck-guard"),
        ("AnalysisTemplate", "paritycheck-step"), ("AnalysisTemplate", "paritycheck-step-job"),
        ("Canary", "shop"), ("Rollout", "shop"),
    ]  # fmt: skip


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_argo_manifests_validate_against_the_published_schemas(tmp_path: Path) -> None:
    if not (MODELS / "@kubernetes-models" / "argo-rollouts").is_dir():
        pytest.skip(f"no Argo Rollouts schemas in {MODELS} (make crd-models installs them from npm)")
    script = tmp_path / "validate.mjs"
    script.write_text(VALIDATE, encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(MODELS)
    docs = _argo()
    bad = {**docs[0], "spec": {"metrics": [{"name": "m", "provider": {"web": {"timeoutSeconds": "ten"}}}]}}
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps([*docs, bad]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *ours, refused = json.loads(done.stdout)
    assert ours == [None] * len(docs)
    assert refused and "url" in refused  # the validator does refuse a broken manifest


def _metrics() -> list[dict[str, Any]]:
    return [m for d in _argo() if d["kind"] == "AnalysisTemplate" for m in d["spec"]["metrics"]]


def test_argo_metrics_ask_the_admin_port_and_test_real_decisions() -> None:
    for metric in _metrics():
        web = metric["provider"].get("web")
        if web is None:
            continue
        assert urlsplit(web["url"]).path == "/rollout/verdict"
        conditions = " ".join(metric.get(k, "") for k in ("successCondition", "failureCondition"))
        assert set(re.findall(r'result\.decision [!=]= "(\w+)"', conditions)) <= set(DECISIONS)


def test_the_job_runs_a_valid_rollout_status() -> None:
    (job,) = [m["provider"]["job"] for m in _metrics() if "job" in m["provider"]]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["paritycheck", "rollout", "status"]
    args = [
        a.replace("{{args.step}}", "2").replace("$(PARITYCHECK_DB)", "postgresql://u@h/db")
        for a in command[1:]
    ]
    group = cli.get_command(click.Context(cli), "rollout")
    assert isinstance(group, click.Group)
    status = group.get_command(click.Context(group), "status")
    assert status is not None
    ctx = status.make_context("status", args[2:])
    assert (ctx.params["step"], ctx.params["wait"], ctx.params["poll"]) == (2, True, "5m")


def test_flagger_webhooks_are_ones_flagger_knows_and_we_answer() -> None:
    (canary,) = [d for d in manifests() if d["kind"] == "Canary"]
    assert canary["apiVersion"] == "flagger.app/v1beta1"
    hooks = canary["spec"]["analysis"]["webhooks"]
    assert {h["type"] for h in hooks} == set(FLAGGER_HOOKS) <= FLAGGER_TYPES
    for hook in hooks:
        assert urlsplit(hook["url"]).path == f"/flagger/{hook['type']}"
