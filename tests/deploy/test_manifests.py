"""deploy/: every manifest is valid Kubernetes, and everything it asks of paritycheck exists.

The schemas are the Kubernetes API's own, from kubernetes-validate (a dev dependency that carries
them for every release, with strict variants that refuse unknown fields): the manifests are checked
against the oldest release they need (1.29: backoffLimitPerIndex, FailIndex) and the newest it ships.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

import paritycheck
from paritycheck import config
from paritycheck.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))
OLDEST = "1.29"
VERSIONS = (OLDEST, kubernetes_validate.utils.latest_version())


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}: {doc['kind']} {doc['metadata']['name']}", doc)
        for path in MANIFESTS
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        if doc
    ]


DOCS = documents()


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in DOCS if doc["kind"] == kind]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a Deployment, Job or CronJob; None for other kinds."""
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"] if "template" in spec else None


def containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name, doc in DOCS:
        spec = pod_spec(doc)
        for container in (spec or {}).get("containers", []):
            yield name, spec or {}, container


def paritycheck_argv(container: dict[str, Any]) -> list[str]:
    """The paritycheck command line a container runs: its args after the image's entry point, or the
    words after ``paritycheck`` in a ``sh -c`` script."""
    command, args = container.get("command"), container.get("args", [])
    if command is None:
        return [str(a) for a in args]
    assert command[-2:] == ["sh", "-c"], f"{container['name']}: a command other than the entry point or sh -c"
    words = shlex.split(args[0])
    assert words[:2] == ["exec", "paritycheck"], (
        f"{container['name']}: the script must exec paritycheck, so that SIGTERM reaches it: {args[0]!r}"
    )
    return words[2:]


def option(argv: list[str], name: str) -> str:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``argv``."""
    for i, word in enumerate(argv):
        if word == name:
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.partition("=")[2]
    raise AssertionError(f"{name} is not given in {argv}")


def test_there_are_the_workloads_the_docs_describe() -> None:
    kinds = sorted(name.partition(": ")[2] for name, _ in DOCS)
    assert kinds == [
        "ConfigMap paritycheck-config",
        "ConfigMap paritycheck-nginx-mirror",
        "CronJob paritycheck-gate",
        "CronJob paritycheck-nightly",
        "Deployment paritycheck-mirror",
        "Secret paritycheck-db",
        "Service paritycheck-mirror",
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[name for name, _ in DOCS])
def test_every_manifest_validates_against_the_kubernetes_schemas(
    name: str, doc: dict[str, Any], version: str
) -> None:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{name} is not valid Kubernetes {version} at {where}: {exc.message}")


def test_a_misspelt_field_is_refused() -> None:
    """The check is real: the strict schemas refuse a field Kubernetes does not know."""
    doc = yaml.safe_load((DEPLOY / "mirror.yaml").read_text(encoding="utf-8").split("\n---\n")[0])
    doc["spec"]["template"]["spec"]["terminationGracePeriod"] = 60
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, OLDEST, strict=True)


def help_text(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_and_option_a_manifest_uses_is_in_paritycheck_help() -> None:
    top = help_text()
    checked = 0
    for name, _, container in containers():
        argv = paritycheck_argv(container)
        command = argv[0]
        assert f"  {command} " in top, f"{name}: paritycheck has no command {command!r}"
        text = help_text(command)
        for word in argv[1:]:
            if word.startswith("--"):
                flag = word.partition("=")[0]
                assert f"{flag} " in text or f"{flag}\n" in text, f"{name}: `{command} --help` lacks {flag}"
                checked += 1
        ctx = click.Context(cli)
        sub = cli.get_command(ctx, command)
        assert sub is not None
        sub.make_context(command, argv[1:], parent=ctx)  # parses: every value is of the right type
    assert checked >= 12


def test_the_workloads_share_one_image_one_store_and_one_configuration() -> None:
    secrets = {doc["metadata"]["name"]: doc["stringData"] for doc in by_kind("Secret")}
    maps = {doc["metadata"]["name"] for doc in by_kind("ConfigMap")}
    images = set()
    for name, spec, container in containers():
        images.add(container["image"])
        (db,) = [e for e in container["env"] if e["name"] == "PARITYCHECK_DB"]
        ref = db["valueFrom"]["secretKeyRef"]
        assert ref["key"] in secrets[ref["name"]], f"{name}: the DSN's Secret key is not in secret.yaml"
        for volume in spec["volumes"]:
            if "configMap" in volume:
                assert volume["configMap"]["name"] in maps, name
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        for word in paritycheck_argv(container):
            path = word.partition("=")[2] if word.startswith("--") else word
            if path.startswith("/"):
                assert any(path.startswith(m + "/") for m in mounts), f"{name}: {path} is on no volume"
        security = container["securityContext"]
        assert spec["securityContext"]["runAsNonRoot"] and security["readOnlyRootFilesystem"], name
        assert "/tmp" in mounts or "gate" in name, f"{name}: a read-only root needs a writable /tmp"
    # One image, tagged with this version: a release updates the manifests with it.
    assert images == {f"registry.example.com/paritycheck:{paritycheck.__version__}"}


def test_the_mirror_drains_within_its_grace_period_and_is_probed_on_its_admin_port() -> None:
    (deployment,) = by_kind("Deployment")
    spec = pod_spec(deployment)
    assert spec is not None
    (container,) = spec["containers"]
    argv = paritycheck_argv(container)
    assert argv[0] == "mirror"
    drain = float(option(argv, "--drain"))
    assert spec["terminationGracePeriodSeconds"] > drain + 10  # plus the window's close
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert int(option(argv, "--admin").rpartition(":")[2]) == ports["admin"]
    assert int(option(argv, "--listen").rpartition(":")[2]) == ports["mirror"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "admin"
    assert container[probe]["httpGet"]["path"] in ("/status", "/metrics")
    (service,) = by_kind("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} == set(ports)


def cronjob(name: str) -> tuple[dict[str, Any], list[str]]:
    """The Job spec of CronJob ``name`` and its container's paritycheck command line."""
    (doc,) = [d for d in by_kind("CronJob") if d["metadata"]["name"] == name]
    spec = pod_spec(doc)
    assert spec is not None
    return doc["spec"]["jobTemplate"]["spec"], paritycheck_argv(spec["containers"][0])


def test_the_gate_judges_the_run_the_nightly_shards_store() -> None:
    job, nightly = cronjob("paritycheck-nightly")
    _, gate = cronjob("paritycheck-gate")
    assert (nightly[0], gate[0]) == ("replay", "gate")
    assert option(nightly, "--run-name") == option(gate, "--run-name")
    assert job["completionMode"] == "Indexed" and job["completions"] == job["parallelism"]
    assert option(nightly, "--shard").endswith(f"/{job['completions']}")
    assert "--exit-zero" in nightly


def test_the_configuration_is_one_paritycheck_reads(tmp_path: Path) -> None:
    (doc,) = [d for d in by_kind("ConfigMap") if d["metadata"]["name"] == "paritycheck-config"]
    path = tmp_path / "paritycheck.toml"
    path.write_text(doc["data"]["paritycheck.toml"], encoding="utf-8")
    loaded = config.load(path)
    assert loaded.backends.legacy.url != loaded.backends.candidate.url
