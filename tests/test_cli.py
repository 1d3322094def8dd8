"""The replay command end to end: real loopback servers, a real SQLite file, every exit status."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from paritycheck.cli import cli
from paritycheck.errors import ExitStatus
from paritycheck.run import runner
from paritycheck.store import Store
from tests.clirun import invoke
from tests.harutil import entry, gets, replay_args, write_har
from tests.servers import json_serve, refused

PATHS = ["/api/users/1", "/api/users/2", "/api/orders/7f3c9a1e-2b4d-4c6e-8f00-123456789abc", "/health"]


def routes(**overrides: Any) -> dict[str, Any]:
    """Fixed answers for every test path (the echo route would differ by the Host header)."""
    table: dict[str, Any] = {path: {"path": path} for path in PATHS}
    table.update({"/" + k.replace("__", "/"): v for k, v in overrides.items()})
    return table


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_har(tmp_path / "c.har", gets("https://prod.example.com", PATHS))


def test_identical_backends_exit_0_and_store_everything(tmp_path: Path, capture: Path) -> None:
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        result = invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            "--json",
            cwd=tmp_path,
        )
    assert result.exit_code == ExitStatus.OK, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == len(PATHS) == summary["matched"]
    assert {e["endpoint"] for e in summary["endpoints"]} >= {"GET /api/users/{id}", "GET /api/orders/{id}"}
    # both backends saw every path; the legacy twice for the first of each endpoint (A/A calibration)
    assert sorted(cand.paths) == sorted(set(legacy.paths)) == sorted(PATHS)
    with Store.open(tmp_path / "r.db", create=False) as store:
        run = store.run(store.latest_run_id())
        assert run.status == "complete"
        assert len(list(store.exchanges(run.id))) == len(PATHS)


def test_a_difference_exits_1_and_is_reported(tmp_path: Path, capture: Path) -> None:
    with (
        json_serve({**routes(), "/api/users/1": {"id": 1, "name": "Ada"}}) as legacy,
        json_serve({**routes(), "/api/users/1": {"id": 1, "name": "Bob"}}) as cand,
    ):
        result = invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            "--json",
            cwd=tmp_path,
        )
    assert result.exit_code == ExitStatus.DIFFERENCES
    summary = json.loads(result.stdout)
    assert summary["mismatched"] == 1
    (users,) = [e for e in summary["endpoints"] if e["endpoint"] == "GET /api/users/{id}"]
    (group,) = users["differences"]
    assert (group["kind"], group["path"], group["legacy"], group["candidate"]) == (
        "changed",
        "$.name",
        "Ada",
        "Bob",
    )


def test_terminal_summary_names_endpoint_and_difference(tmp_path: Path, capture: Path) -> None:
    with (
        json_serve({**routes(), "/health": {"ok": True}}) as legacy,
        json_serve({**routes(), "/health": {"ok": False}}) as cand,
    ):
        result = invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            cwd=tmp_path,
        )
    assert result.exit_code == ExitStatus.DIFFERENCES
    assert "GET /health" in result.stdout
    assert "$.ok" in result.stdout
    assert "NOT AT PARITY" in result.stdout


def test_unreachable_backend_is_a_failed_exchange_not_a_crash(tmp_path: Path, capture: Path) -> None:
    with json_serve() as legacy, refused() as dead:
        result = invoke(
            *replay_args(str(capture), legacy.url, dead),
            "--db",
            "r.db",
            "--json",
            cwd=tmp_path,
        )
    # A backend that answered nothing gives no verdict: the failure exit, not "differences".
    assert result.exit_code == ExitStatus.FAILURE
    summary = json.loads(result.stdout)
    assert summary["failed"] == len(PATHS) and summary["status"] == "unreachable"
    assert (
        summary["total"]
        == summary["failed"] + summary["matched"] + summary["mismatched"] + summary["skipped"]
    )


def test_writes_are_skipped_and_counted_unless_allowed(tmp_path: Path) -> None:
    har = write_har(
        tmp_path / "w.har",
        [
            entry("GET", "http://x/a"),
            entry("POST", "http://x/a", body='{"v": 1}'),
            entry("DELETE", "http://x/a/1"),
        ],
    )
    with json_serve() as legacy, json_serve() as cand:
        result = invoke(
            *replay_args(str(har), legacy.url, cand.url),
            "--db",
            "r.db",
            "--json",
            cwd=tmp_path,
        )
        assert json.loads(result.stdout)["skipped"] == 2
        assert set(legacy.paths) == {"/a"} and cand.paths == ["/a"]
        result = invoke(
            *replay_args(str(har), legacy.url, cand.url),
            "--db",
            "r.db",
            "--json",
            "--allow-writes",
            cwd=tmp_path,
        )
        assert json.loads(result.stdout)["skipped"] == 0
        assert sorted(s.method for s in cand.requests) == ["DELETE", "GET", "GET", "POST"]


def test_include_and_exclude(tmp_path: Path, capture: Path) -> None:
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        result = invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            "--include",
            "GET /api/*",
            "--exclude",
            "* /api/orders/*",
            "--json",
            cwd=tmp_path,
        )
    assert result.exit_code == ExitStatus.OK
    assert sorted(cand.paths) == ["/api/users/1", "/api/users/2"]
    assert json.loads(result.stdout)["skipped"] == 2


def test_dry_run_sends_nothing(tmp_path: Path, capture: Path) -> None:
    with json_serve() as legacy, json_serve() as cand:
        result = invoke(*replay_args(str(capture), legacy.url, cand.url), "--dry-run", cwd=tmp_path)
        assert legacy.requests == [] and cand.requests == []
    assert result.exit_code == ExitStatus.OK
    for path in PATHS:
        assert path in result.stdout
    assert not (tmp_path / "reports").exists()


def test_dry_run_redacts_query_secrets_as_the_store_does_and_prints_json(tmp_path: Path) -> None:
    secret = "sk-live-4f3e2d1c0b9a"
    urls = [f"https://prod.test/api/a?api_key={secret}&page=2", f"https://prod.test/b?access_token={secret}"]
    har = write_har(
        tmp_path / "q.har", [*(entry("GET", u) for u in urls), entry("POST", "https://prod.test/c")]
    )
    text = invoke(*replay_args(str(har), "http://l.test", "http://c.test"), "--dry-run", cwd=tmp_path)
    assert text.exit_code == ExitStatus.OK and secret not in text.output
    # One secret, one mark: the same keyed hash wherever it appears.
    mark = re.search(r"api_key=(redacted-[0-9a-f]{8})&page=2", text.stdout)
    assert mark and "1 skipped" in text.output
    found = invoke(
        *replay_args(str(har), "http://l.test", "http://c.test"), "--dry-run", "--json", cwd=tmp_path
    )
    doc = json.loads(found.stdout)
    assert secret not in found.stdout
    targets = [re.sub(r"redacted-[0-9a-f]{8}", "redacted-#", r["target"]) for r in doc["requests"]]
    assert targets == ["/api/a?api_key=redacted-#&page=2", "/b?access_token=redacted-#", "/c"]
    assert doc["requests"][0]["target"].split("=")[1][:17] == doc["requests"][1]["target"].split("=")[1]
    assert doc["requests"][2]["skipped"].startswith("unsafe method")
    assert (doc["would_send"], doc["skipped"]) == (2, 1) and doc["skip_reasons"][0]["count"] == 1
    assert doc["backends"] == {"legacy": "http://l.test", "candidate": "http://c.test"}


def test_secrets_never_reach_the_database(tmp_path: Path) -> None:
    secret = "tok-9f8e7d6c5b4a39281706"
    har = write_har(
        tmp_path / "s.har",
        [
            entry(
                "GET",
                f"http://x/me?api_key={secret}",
                headers=[("Authorization", f"Bearer {secret}"), ("Cookie", f"session={secret}")],
            ),
        ],
    )

    async def leak(request: web.Request) -> web.Response:
        return web.json_response({"token": secret, "user": "ada"}, headers={"Set-Cookie": f"sid={secret}"})

    with json_serve({"/me": leak}) as legacy, json_serve({"/me": leak}) as cand:
        result = invoke(*replay_args(str(har), legacy.url, cand.url), "--db", "r.db", cwd=tmp_path)
        assert cand.requests[0].headers and any(v == f"Bearer {secret}" for _, v in cand.requests[0].headers)
    assert result.exit_code == ExitStatus.OK
    for file in tmp_path.glob("r.db*"):
        assert secret.encode() not in file.read_bytes(), file


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("missing", "no such file"),
        ("truncated", "entry 1"),
        ("not-json", "c.har"),
    ],
)
def test_bad_capture_exits_2_with_one_line(tmp_path: Path, setup: str, needle: str) -> None:
    har = tmp_path / "c.har"
    if setup == "truncated":
        text = json.dumps({"log": {"entries": gets("http://x", ["/a", "/b", "/c"])}})
        har.write_text(text[: len(text) * 2 // 3])
    elif setup == "not-json":
        har.write_text("this is not a capture")
    with json_serve() as legacy, json_serve() as cand:
        result = invoke(*replay_args(str(har), legacy.url, cand.url), "--db", "r.db", cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    if setup == "truncated":  # the entry before the broken one was replayed and kept
        assert cand.paths == ["/a"]
        with Store.open(tmp_path / "r.db", create=False) as store:
            assert len(list(store.exchanges(store.latest_run_id()))) == 1


def test_no_backend_configured_exits_2(tmp_path: Path, capture: Path) -> None:
    result = invoke("replay", str(capture), "--db", "r.db", cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE
    assert "no legacy backend" in result.stderr and "--legacy" in result.stderr


def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path, capture: Path) -> None:
    (tmp_path / "paritycheck.toml").write_text("[replay]\nconcurency = 3\n")
    result = invoke("replay", str(capture), cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE
    assert "replay.concurency" in result.stderr and "paritycheck.toml" in result.stderr


def test_bad_option_exits_2(tmp_path: Path, capture: Path) -> None:
    result = invoke("replay", str(capture), "--concurrency", "0", cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE
    result = invoke(
        *replay_args(str(capture), "http://a", "http://b"),
        "--include",
        "FETCH /x",
        cwd=tmp_path,
    )
    assert result.exit_code == ExitStatus.USAGE
    assert "FETCH /x" in result.stderr


def test_internal_error_exits_3_without_traceback(
    tmp_path: Path, capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paritycheck.run import runner

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(runner, "replay_captures", boom)
    result = invoke(*replay_args(str(capture), "http://a", "http://b"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.FAILURE
    assert "kaboom" in result.stderr and "--traceback" in result.stderr and "Traceback" not in result.stderr


def test_interrupt_exits_130(tmp_path: Path, capture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paritycheck.common import aio

    def interrupted(coro: Any) -> Any:
        coro.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(aio, "run", interrupted)
    result = invoke(*replay_args(str(capture), "http://a", "http://b"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.INTERRUPTED


@pytest.mark.parametrize("entries", [400, 9000], ids=["store-in-process", "store-in-child"])
def test_ctrl_c_in_a_real_process_keeps_results(tmp_path: Path, entries: int) -> None:
    """SIGINT mid-run: exit 130, a valid database with every exchange finished so far.

    9,000 entries make a capture over runner.OFFLOAD_MIN_BYTES, so outcomes go through the child writer.
    """
    har = write_har(tmp_path / "slow.har", gets("http://x", [f"/item/{i}" for i in range(entries)]))
    assert (har.stat().st_size >= runner.OFFLOAD_MIN_BYTES) == (entries > 400)
    with json_serve(delay=0.02) as legacy, json_serve(delay=0.02) as cand:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paritycheck",
                *replay_args(str(har), legacy.url, cand.url),
                "--db",
                str(tmp_path / "r.db"),
                "--concurrency",
                "4",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while len(legacy.requests) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitStatus.INTERRUPTED, err.decode()
    with Store.open(tmp_path / "r.db", create=False) as store:
        run = store.run(store.latest_run_id())
        kept = list(store.exchanges(run.id))
    assert run.status == "interrupted"
    assert 0 < len(kept) < entries
    assert len(kept) <= len(legacy.requests)


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert (command.help or "").strip(), name


def test_replay_writes_the_html_report_unless_told_not_to(tmp_path: Path, capture: Path) -> None:
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        args = [*replay_args(str(capture), legacy.url, cand.url), "--db", "r.db"]
        invoke(*args, "--no-report", cwd=tmp_path)
        assert not (tmp_path / "reports" / "index.html").exists()
        invoke(*args, cwd=tmp_path)
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "GET /api/users/{id}" in page


def test_report_writes_every_format_for_the_latest_run(tmp_path: Path, capture: Path) -> None:
    with (
        json_serve({**routes(), "/health": {"ok": 1}}) as legacy,
        json_serve({**routes(), "/health": {"ok": 2}}) as cand,
    ):
        invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            "--no-report",
            cwd=tmp_path,
        )
    result = invoke(
        "report",
        "--db",
        "r.db",
        "--html",
        "out/r.html",
        "--markdown",
        "out/r.md",
        "--junit",
        "out/r.xml",
        "--json",
        "out/r.json",
        cwd=tmp_path,
    )
    assert result.exit_code == ExitStatus.OK, result.output
    out = tmp_path / "out"
    assert "GET /health" in (out / "r.html").read_text(encoding="utf-8")
    assert "GET /health" in (out / "r.md").read_text(encoding="utf-8")
    import xml.etree.ElementTree as ET

    suite = ET.parse(out / "r.xml").getroot()
    assert any(case.find("failure") is not None for case in suite.iter("testcase"))
    assert json.loads((out / "r.json").read_text())["mismatched"] == 1


def test_report_without_a_database_exits_2(tmp_path: Path) -> None:
    result = invoke("report", "--db", "missing.db", cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE
    assert "missing.db" in result.stderr and "paritycheck replay" in result.stderr


def test_noise_samples_zero_asks_the_legacy_once(tmp_path: Path, capture: Path) -> None:
    (tmp_path / "paritycheck.toml").write_text("[noise]\nsamples = 0\n")
    with json_serve(routes()) as legacy, json_serve(routes()) as cand:
        invoke(
            *replay_args(str(capture), legacy.url, cand.url),
            "--db",
            "r.db",
            cwd=tmp_path,
        )
    assert sorted(legacy.paths) == sorted(cand.paths) == sorted(PATHS)


def test_a_directory_or_a_hostless_url_is_a_usage_error(tmp_path: Path, capture: Path) -> None:
    (tmp_path / "d").mkdir()
    result = invoke(*replay_args("d", "http://127.0.0.1:1", "http://127.0.0.1:2"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE and "is a directory" in result.stderr
    result = invoke(*replay_args(str(capture), "http://", "http://127.0.0.1:2"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE and "with a host" in result.stderr


def test_a_dead_backend_is_named_with_the_reason(tmp_path: Path, capture: Path) -> None:
    with json_serve(routes()) as legacy, refused() as dead:
        args = [
            *replay_args(str(capture), legacy.url, dead),
            "--db",
            "r.db",
            "--no-report",
        ]
        text = invoke(*args, cwd=tmp_path).stdout
        doc = json.loads(invoke(*args, "--json", cwd=tmp_path).stdout)
    assert f"The candidate backend {dead} answered no exchange (connection refused)" in " ".join(text.split())
    assert doc["reasons"]["failed"] == [{"reason": "candidate: connection refused", "count": len(PATHS)}]


def test_storing_from_a_child_process_keeps_the_same_results(
    tmp_path: Path, capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    differing = {**routes(), "/api/users/1": {"id": 1, "name": "Ada"}, "/health": {"ok": True}}
    other = {**routes(), "/api/users/1": {"id": 1, "name": "Bob"}, "/health": {"ok": False}}
    docs = []
    with json_serve(differing) as legacy, json_serve(other) as cand:
        for threshold in (1 << 40, 0):
            monkeypatch.setattr(runner, "OFFLOAD_MIN_BYTES", threshold)
            db = f"r{threshold}.db"
            args = [
                *replay_args(str(capture), legacy.url, cand.url),
                "--db",
                db,
                "--json",
            ]
            result = invoke(*args, "--no-report", cwd=tmp_path)
            assert result.exit_code == ExitStatus.DIFFERENCES
            doc = json.loads(result.stdout)
            with Store.open(tmp_path / db, create=False) as store:
                # seq is arrival order, which concurrency makes vary: compare as a set
                stored = store.exchanges(doc["run_id"])
                doc["stored"] = sorted((x.url, x.endpoint, x.outcome, repr(x.differences)) for x in stored)
            for key in ("started", "ended", "run_id"):
                doc.pop(key)
            for ep in doc["endpoints"]:
                ep.pop("legacy_ms"), ep.pop("candidate_ms")
            for f in doc["findings"]:  # when it started, and which exchange came first: arrival order
                f["first_seen"].pop("started"), f["example"].pop("exchange_id")
            docs.append(doc)
    assert docs[0] == docs[1]
