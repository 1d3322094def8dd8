"""The container image that `make image` builds, run as a container: opt-in (`make test-image`, CI).

Each test runs the image with podman: its entry point and labels, the demo, the mirror sink closing its
window on SIGTERM, and deploy/nightly.yaml's own shard script stopped by SIGTERM. Containers run with a
read-only root and a tmpfs /tmp, as the manifests' securityContext has them.

podman is given two options this sandbox needs and other machines accept: RLIMIT_NOFILE and NPROC no
higher than the caller's own (podman's defaults exceed the hard limits here, which a process without
CAP_SYS_RESOURCE cannot raise), and runc rather than crun when installed (crun 1.8 refuses the hybrid
cgroup v1/v2 layout of this machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web
from harutil import entry, write_har
from servers import serve

import paritycheck
from paritycheck.samples import running
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("PARITYCHECK_IMAGE", f"localhost/paritycheck:{paritycheck.__version__}")

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("PARITYCHECK_IMAGE_TEST") != "1",
        reason="opt-in: `make image`, then `make test-image` (PARITYCHECK_IMAGE_TEST=1)",
    ),
    pytest.mark.slow,
]


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    """The image under test: present, or the test fails (it was asked for) naming the fix."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: apt-get install podman runc")
    found = subprocess.run(["podman", "image", "exists", IMAGE], check=False)
    if found.returncode != 0:
        pytest.fail(f"no image {IMAGE}: run `make image` first")
    return IMAGE


def podman(*args: str) -> list[str]:
    """``podman [--runtime runc] ARGS`` with the limits this sandbox allows (module docstring)."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return ["podman", *runtime, *args]


def run_options(work: Path) -> list[str]:
    """Options of ``podman run``: limits, a read-only root with a tmpfs /tmp, ``work`` as /work."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = min(4096, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    return [
        "--rm", "--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}",
        "--read-only", "--tmpfs", "/tmp", "--volume", f"{work}:/work", "--workdir", "/work",
    ]  # fmt: skip


def writable(path: Path) -> Path:
    """A directory the image's user (uid 10001) can write, whoever runs the test."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_image_runs_paritycheck_as_its_unprivileged_user_with_no_toolchain(tmp_path: Path) -> None:
    work = writable(tmp_path / "w")
    version = subprocess.run(
        podman("run", *run_options(work), IMAGE, "--version"), capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"paritycheck {paritycheck.__version__}"
    inspected = json.loads(subprocess.check_output(["podman", "image", "inspect", IMAGE]))[0]["Config"]
    assert inspected["Labels"]["org.opencontainers.image.version"] == paritycheck.__version__
    assert inspected["User"] == "10001:10001"
    assert inspected["Entrypoint"] == ["/usr/bin/tini", "--", "paritycheck"]
    script = (
        "id -u; for tool in gcc cc c++ make pip pip3 strip apt-get; do command -v $tool; done;"
        " python3 -c 'import pip' 2>/dev/null && echo pip-module;"
        " find / -xdev \\( -name '*.deb' -o -path '*/.cache/*' -o -path '/var/lib/apt/lists/*_Packages' \\)"
    )
    found = subprocess.run(
        podman("run", *run_options(work), "--entrypoint", "sh", IMAGE, "-c", script),
        capture_output=True,
        text=True,
        check=False,
    )
    # apt-get stays (Debian's base has it); compilers, pip, caches and package lists do not.
    assert found.stdout.split() == ["10001", "/usr/bin/apt-get"], found.stdout + found.stderr


def test_the_demo_runs_in_the_image(tmp_path: Path) -> None:
    work = writable(tmp_path / "w")
    shutil.copytree(ROOT / "captures", work / "captures")
    shutil.copy(ROOT / "paritycheck.toml", work)
    demo = subprocess.run(
        podman(
            "run", *run_options(work), "--network", "none", "--entrypoint", "python3", IMAGE,
            "-m", "paritycheck.samples", "demo",
        ),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "The demo found differences, as seeded" in demo.stdout
    assert (work / "reports" / "index.html").is_file()


async def until(
    client: httpx.AsyncClient, url: str, done: Callable[[dict[str, Any]], bool], *, seconds: float = 60
) -> dict[str, Any]:
    """GET ``url`` (JSON) until ``done(body)``; the last body."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            body: dict[str, Any] = (await client.get(url)).json()
            if done(body):
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never became ready"
        await asyncio.sleep(0.1)


async def podman_async(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "podman", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await proc.wait()


async def test_the_mirror_in_the_image_closes_its_window_on_sigterm_and_exits_0(tmp_path: Path) -> None:
    work = writable(tmp_path / "w")
    port, admin, name = free_port(), free_port(), f"paritycheck-image-test-{os.getpid()}"
    async with running(summary_delay=0) as samples:
        argv = podman(
            "run", *run_options(work), "--network", "host", "--name", name, IMAGE, "mirror",
            "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}", "--legacy", samples.legacy_url,
            "--candidate", samples.candidate_url, "--db", "/work/s.db", "--window", "15m", "--drain", "5",
            "--no-report",
        )  # fmt: skip
        proc = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                await until(client, f"http://127.0.0.1:{admin}/status", lambda body: True)
                # A copy as the edge mirrors it (Envoy's -shadow Host suffix included): answered at once.
                copy = await client.get(
                    f"http://127.0.0.1:{port}/api/v1/health", headers={"Host": "api-shadow"}
                )
                assert copy.status_code == 200
                status = await until(
                    client, f"http://127.0.0.1:{admin}/status", lambda body: body["totals"]["shadowed"] == 1
                )
            assert status["totals"]["seen"] == 1
            await podman_async("kill", "--signal", "TERM", name)
            code = await asyncio.wait_for(proc.wait(), 60)
            assert proc.stderr is not None
            err = (await proc.stderr.read()).decode()
        finally:
            if proc.returncode is None:
                await podman_async("rm", "--force", name)
                await proc.wait()
    assert code == 0, err
    assert "mirror: stopped; 1 seen = 1 shadowed" in err and "+ 0 skipped + 0 dropped" in err, err
    with Store.open(work / "s.db", create=False) as store:
        run = store.run(store.latest_run_id())
    assert (run.status, run.total) == ("complete", 1)


@pytest.fixture
def slow_backend() -> Iterator[tuple[str, threading.Event]]:
    """A backend that takes 0.5 s per answer; the event is set once it has answered 16 requests."""
    answered, busy = [0], threading.Event()

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        answered[0] += 1
        if answered[0] >= 16:
            busy.set()
        return web.json_response({"path": request.path})

    with serve(handle) as url:
        yield url, busy


def test_the_nightly_shard_script_stops_on_sigterm_and_its_run_reads_interrupted(
    tmp_path: Path, slow_backend: tuple[str, threading.Event]
) -> None:
    """deploy/nightly.yaml's command, as the manifest has it: sh computes the shard, then exec; tini
    passes SIGTERM to paritycheck, which records the run interrupted and exits 143."""
    url, busy = slow_backend
    work = writable(tmp_path / "w")
    har = write_har(work / "nightly.har", [entry("GET", f"http://api/items/{i}") for i in range(800)])
    toml = work / "paritycheck.toml"
    toml.write_text(f'[backends]\nlegacy = "{url}"\ncandidate = "{url}"\n', encoding="utf-8")
    (doc,) = [d for d in yaml.safe_load_all((ROOT / "deploy" / "nightly.yaml").read_text(encoding="utf-8"))]
    container = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    command, (script,) = container["command"], container["args"]
    name = f"paritycheck-image-nightly-{os.getpid()}"
    argv = podman(
        "run", *run_options(work), "--network", "host", "--name", name,
        "--env", "JOB_COMPLETION_INDEX=1", "--env", "PARITYCHECK_DB=/work/s.db",
        "--volume", f"{har}:/captures/nightly.har:ro",
        "--volume", f"{toml}:/etc/paritycheck/paritycheck.toml:ro",
        "--entrypoint", command[0], IMAGE, *command[1:], script,
    )  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert busy.wait(120), "the shard never reached the backend"
        subprocess.run(["podman", "kill", "--signal", "TERM", name], check=True, capture_output=True)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            subprocess.run(["podman", "rm", "--force", name], check=False, capture_output=True)
            proc.wait()
    assert proc.returncode == 143, err
    with sqlite3.connect(work / "s.db") as conn:
        ((name, meta),) = conn.execute("SELECT name, meta FROM runs").fetchall()
    assert name.startswith("nightly-20") and json.loads(meta)["shards"]["state"] == {"2": "interrupted"}, meta
