"""Access logs of split traffic: nginx (the log_format of docs/rollout.md, written by a real nginx),
Envoy's and Istio's JSON access logs, each line tagged with its cohort or counted as left out."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from paritycheck.errors import CaptureError
from paritycheck.rollout import CANDIDATE, LEGACY, CohortRule, LogTally, compare_cohorts, read_access_log
from tests.live.livehelpers import backend
from tests.live.test_live_nginx import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rollout.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)


def read(tmp_path: Path, lines: list[object], rule: CohortRule) -> tuple[list[object], LogTally]:
    path = tmp_path / "access.json"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8"
    )
    tally = LogTally()
    return list(read_access_log([path], rule, tally)), tally


def test_nginx_lines_by_upstream(tmp_path: Path) -> None:
    rule = CohortRule("upstream", legacy=("10.0.1.*",), candidate=("10.0.2.*",))
    line = {
        "time_iso8601": "2026-12-01T10:00:00+00:00", "msec": "1764583200.250", "request_method": "GET",
        "request_uri": "/api/items/7?token=s3cr3t", "status": "502", "request_time": "0.031",
        "upstream_addr": "10.0.1.5:8080, 10.0.2.7:8080", "upstream_response_time": "0.010, 0.020",
    }  # fmt: skip
    requests, tally = read(tmp_path, [line, {**line, "upstream_addr": "10.0.1.5:8080"}], rule)
    first, second = requests
    # nginx tried two upstreams; the last one answered (20 ms): the candidate, with a 502.
    assert (first.cohort, first.path, first.status, first.ms, first.error) == (
        CANDIDATE,
        "/api/items/7",
        502,
        20.0,
        True,
    )
    assert second.cohort == LEGACY and first.at is not None and first.at.timestamp() == 1764583200.25
    assert (tally.lines, tally.used) == (2, 2)


def test_envoy_and_istio_lines_by_cluster(tmp_path: Path) -> None:
    rule = CohortRule("upstream", legacy=("outbound|*|stable|*",), candidate=("outbound|*|canary|*",))
    istio = {
        "start_time": "2026-12-01T10:00:00.123Z", "method": "POST", "path": "/api/orders",
        "response_code": 0, "response_flags": "UF,URX", "duration": 1003,
        "upstream_cluster": "outbound|8080|canary|orders.shop.svc.cluster.local", "upstream_host": "-",
    }  # fmt: skip
    envoy = {**istio, "response_code": "200", "response_flags": "-", "duration": "12",
             "upstream_cluster": "outbound|8080|stable|orders.shop.svc.cluster.local"}  # fmt: skip
    requests, _ = read(tmp_path, [istio, envoy], rule)
    failed, ok = requests
    assert (failed.cohort, failed.status, failed.error, failed.ms) == (CANDIDATE, 0, True, 1003.0)
    assert (ok.cohort, ok.status, ok.error, ok.ms) == (LEGACY, 200, False, 12.0)


def test_a_header_or_a_field_names_the_cohort_and_the_rest_is_counted(tmp_path: Path) -> None:
    line = {"method": "GET", "path": "/x", "status": 200, "ms": 3, "http_x_canary": "1", "backend": "new"}
    by_header = CohortRule("header:X-Canary", legacy=("0",), candidate=("1",))
    by_field = CohortRule("backend", legacy=("old",), candidate=("new",))
    assert [r.cohort for r in read(tmp_path, [line], by_header)[0]] == [CANDIDATE]
    assert [r.cohort for r in read(tmp_path, [line], by_field)[0]] == [CANDIDATE]
    junk = ["not json", "[1]", {**line, "backend": "other"}, {"backend": "old"}, ""]
    requests, tally = read(tmp_path, junk, by_field)
    assert requests == []
    assert tally.skipped == {
        "not JSON": 1,
        "not a JSON object": 1,
        "neither cohort": 1,
        "no method or path": 1,
    }


def test_an_unreadable_log_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read access log") as caught:
        list(read_access_log([tmp_path / "missing.json"], CohortRule(), LogTally()))
    assert "missing.json" in caught.value.message


def _documented_nginx() -> str:
    """The ``log_format`` and ``split_clients`` blocks docs/rollout.md gives to copy."""
    blocks = re.findall(r"```nginx\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    block = next(b for b in blocks if "log_format paritycheck" in b)
    return block


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
async def test_the_documented_nginx_config_logs_both_cohorts(tmp_path: Path) -> None:
    assert NGINX is not None

    def answer(name: str) -> web.Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            failing = name == "candidate" and request.match_info["tail"].endswith("3")
            return web.json_response({"from": name}, status=503 if failing else 200)

        return handle

    async with backend(answer("legacy")) as legacy, backend(answer("candidate")) as candidate:
        port = free_port()
        snippet = _documented_nginx()
        snippet = snippet.replace("10.0.1.5:8080", legacy.removeprefix("http://"))
        snippet = snippet.replace("10.0.2.7:8080", candidate.removeprefix("http://"))
        snippet = snippet.replace("/var/log/nginx/paritycheck.json", str(tmp_path / "access.json"))
        snippet = snippet.replace("listen 80;", f"listen 127.0.0.1:{port};")
        conf = tmp_path / "nginx.conf"
        temp = " ".join(
            f"{t}_temp_path {tmp_path}/{t};" for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf.write_text(
            f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid;\n"
            f"error_log {tmp_path}/error.log warn;\n"
            f"events {{ worker_connections 256; }}\nhttp {{ {temp}\n{snippet}\n}}\n",
            encoding="utf-8",
        )
        nginx = await asyncio.create_subprocess_exec(
            NGINX, "-c", str(conf), "-p", str(tmp_path), stderr=asyncio.subprocess.PIPE
        )
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(100):  # until nginx listens
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/health"):
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
                for i in range(400):
                    async with session.get(
                        f"http://127.0.0.1:{port}/api/items/{i}", headers={"X-User": f"u{i}"}
                    ) as r:
                        await r.read()
        finally:
            nginx.terminate()
            await nginx.wait()
    tally = LogTally()
    rule = CohortRule("backend", legacy=("legacy",), candidate=("candidate",))
    requests = list(read_access_log([tmp_path / "access.json"], rule, tally))
    assert tally.used == tally.lines == len(requests) >= 401
    counts = {c: sum(r.cohort == c for r in requests) for c in (LEGACY, CANDIDATE)}
    assert 15 <= counts[CANDIDATE] <= 80  # split_clients sends 10% of users to the candidate
    assert all(r.at is not None and r.ms is not None for r in requests)
    assert all(r.error == (r.cohort == CANDIDATE and r.path.endswith("3")) for r in requests)
    result = compare_cohorts(requests)
    assert {m.endpoint for m in result.metrics} >= {"GET /api/items/{id}"}
