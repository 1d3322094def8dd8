"""Input handling on the replay command: dry-run redaction and JSON, backend URLs checked up front."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paritycheck import config as config_mod
from paritycheck.cli import cli
from paritycheck.common import aio
from paritycheck.common.text import noun, plural
from paritycheck.config import Backend, Backends, Config, EndpointRule, ReplayConfig
from paritycheck.errors import ConfigError, ExitStatus
from paritycheck.run import replay_captures
from paritycheck.store import Store
from tests.clirun import invoke
from tests.harutil import entry, replay_args, write_har
from tests.servers import json_serve

SECRET = "tok-9f8e7d6c5b4a39281706"
DEAD = "http://127.0.0.1:9"  # never contacted: dry runs only


@pytest.fixture
def secret_capture(tmp_path: Path) -> Path:
    return write_har(
        tmp_path / "s.har",
        [
            entry("GET", f"http://x/me?api_key={SECRET}&page=2"),
            entry("GET", f"http://x/feed?access_token={SECRET}"),
            entry("POST", "http://x/orders", body="{}"),
        ],
    )


def test_dry_run_redacts_query_secrets_as_the_store_does(tmp_path: Path, secret_capture: Path) -> None:
    with json_serve() as legacy, json_serve() as cand:
        dry = invoke(*replay_args(secret_capture, legacy.url, cand.url), "--dry-run", cwd=tmp_path)
        real = invoke(*replay_args(secret_capture, legacy.url, cand.url, "--db", "r.db"), cwd=tmp_path)
    assert dry.exit_code == ExitStatus.OK and real.exit_code in (ExitStatus.OK, ExitStatus.DIFFERENCES)
    assert SECRET not in dry.output
    # Each run has its own redaction key: the marks' shape is the same, their hashes are not.
    keyless = functools.partial(re.sub, r"redacted-[0-9a-f]{8}", "redacted-#")
    with Store.open(tmp_path / "r.db", create=False) as store:
        stored = [keyless(x.url) for x in store.exchanges(store.latest_run_id())]
    shown = [keyless(line.split()[1]) for line in dry.stdout.splitlines() if line.startswith("GET ")]
    assert len(shown) == 2
    for target in shown:  # the dry run shows exactly what the store keeps
        assert any(url.endswith(target) for url in stored), (target, stored)
    assert "2 exchanges would be sent" in dry.output


def test_dry_run_json_redacts_and_counts(tmp_path: Path, secret_capture: Path) -> None:
    result = invoke(*replay_args(secret_capture, DEAD, DEAD), "--dry-run", "--json", cwd=tmp_path)
    assert result.exit_code == ExitStatus.OK
    doc = json.loads(result.stdout)
    assert SECRET not in result.stdout
    assert re.fullmatch(r"/me\?api_key=redacted-[0-9a-f]{8}&page=2", doc["requests"][0]["target"])
    assert doc["would_send"] == 2 and doc["skipped"] == 1 == sum(r["count"] for r in doc["skip_reasons"])


@pytest.mark.parametrize("side", ["legacy", "candidate"])
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("ftp://127.0.0.1:21", "not an http(s) URL with a host"),
        ("127.0.0.1:8000", "not an http(s) URL with a host"),
        ("http://", "not an http(s) URL with a host"),
        ("http://admin:hunter2@127.0.0.1:9", "holds credentials"),
        ("http://127.0.0.1:9/?tenant=a", "holds a query"),
    ],
)
def test_a_bad_backend_url_is_a_usage_error_naming_the_option(
    tmp_path: Path, secret_capture: Path, side: str, url: str, why: str
) -> None:
    urls = {"legacy": "http://127.0.0.1:9", "candidate": "http://127.0.0.1:9", side: url}
    args = replay_args(secret_capture, urls["legacy"], urls["candidate"], "--db", str(tmp_path / "r.db"))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == ExitStatus.USAGE
    assert f"Invalid value for '--{side}'" in result.output and why in result.output
    assert "Traceback" not in result.output and "hunter2" not in result.output
    assert not (tmp_path / "r.db").exists()


def test_a_bad_backend_url_in_the_config_names_the_file_and_key(tmp_path: Path) -> None:
    file = tmp_path / "paritycheck.toml"
    file.write_text(
        '[backends]\nlegacy = "http://127.0.0.1:8000"\n[backends.candidate]\nurl = "http://h:99999"\n'
    )
    with pytest.raises(ConfigError) as info:
        config_mod.load(file)
    assert str(file) in info.value.message and "backends.candidate" in info.value.message
    assert "\n" not in info.value.message
    result = invoke("replay", "x.har", "--config", str(file), cwd=tmp_path)
    assert result.exit_code == ExitStatus.USAGE and "backends.candidate" in result.output


def test_plural_counts_nouns() -> None:
    assert plural(1, "pair") == "1 pair"
    assert plural(0, "pair") == "0 pairs"
    assert plural(1200, "exchange") == "1,200 exchanges"
    assert plural(1, "more group") == "1 more group"
    assert plural(2, "entry") == "2 entries" and plural(2, "key") == "2 keys"
    assert noun(1, "group") == "group" and noun(3, "group") == "groups"


def test_a_safari_har_with_a_data_url_entry_replays_the_rest(tmp_path: Path) -> None:
    data_entry = entry("GET", "data:image/png;base64,iVBORw0KGgo=")
    data_entry["request"]["method"] = ""
    har = write_har(
        tmp_path / "safari.har", [entry("GET", "http://x/a"), data_entry, entry("GET", "http://x/b")]
    )
    with (
        json_serve({"/a": {"a": 1}, "/b": {"b": 2}}) as legacy,
        json_serve({"/a": {"a": 1}, "/b": {"b": 2}}) as cand,
    ):
        result = invoke(
            *replay_args(har, legacy.url, cand.url, "--db", "r.db", "--json", "--no-report"), cwd=tmp_path
        )
    assert result.exit_code == ExitStatus.OK, result.output
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["matched"], summary["skipped"]) == (3, 2, 1)


def test_bodies_over_max_body_are_compared_by_size_and_sha256(tmp_path: Path) -> None:
    (tmp_path / "paritycheck.toml").write_text("[replay]\nmax_body = 1024\n")
    har = write_har(tmp_path / "big.har", [entry("GET", "http://x/same"), entry("GET", "http://x/differs")])
    big = "x" * 5000
    with (
        json_serve({"/same": {"blob": big}, "/differs": {"blob": big}}) as legacy,
        json_serve({"/same": {"blob": big}, "/differs": {"blob": big + "y"}}) as cand,
    ):
        result = invoke(*replay_args(har, legacy.url, cand.url, "--json", "--no-report"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.DIFFERENCES, result.output
    summary = json.loads(result.stdout)
    assert (summary["matched"], summary["mismatched"], summary["failed"]) == (1, 1, 0)
    (differs,) = [e for e in summary["endpoints"] if e["mismatched"]]
    paths = {d["path"] for d in differs["differences"]}
    assert "$.paritycheck_oversized_body.sha256" in paths


def test_max_body_below_1024_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    file = tmp_path / "p.toml"
    file.write_text("[replay]\nmax_body = 10\n")
    with pytest.raises(ConfigError, match=r"p.toml: replay.max_body must be at least 1024 bytes"):
        config_mod.load(file)


def test_html_examples_show_the_urls_called_on_each_backend(tmp_path: Path) -> None:
    har = write_har(tmp_path / "c.har", [entry("GET", f"http://127.0.0.1:5000/api/users/1?api_key={SECRET}")])
    with json_serve({"/api/users/1": {"n": 1}}) as legacy, json_serve({"/api/users/1": {"n": 2}}) as cand:
        result = invoke(*replay_args(har, legacy.url, cand.url, "--db", "r.db"), cwd=tmp_path)
    assert result.exit_code == ExitStatus.DIFFERENCES, result.output
    page = (tmp_path / "reports" / "index.html").read_text()
    for side, backend in (("legacy", legacy.url), ("candidate", cand.url)):
        called = f"called on {side}: GET {backend.rstrip('/')}/api/users/1?api_key="
        assert re.search(re.escape(called) + r"redacted-[0-9a-f]{8}\b", page), side
    assert "recorded as GET http://127.0.0.1:5000/api/users/1" in page
    assert SECRET not in page


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": (EndpointRule(match="GIT /x"),)},
        {"replay": ReplayConfig(include=("no-slash",))},
        {"backends": Backends(legacy=Backend(url="http://u:hunter2@127.0.0.1:9"), candidate=Backend(DEAD))},
        {"backends": Backends(legacy=Backend(url=DEAD), candidate=Backend(url=DEAD + "/?a=1"))},
    ],
    ids=["endpoint-match", "include", "credentials", "query"],
)
def test_a_configuration_refused_leaves_no_run_behind(
    tmp_path: Path, secret_capture: Path, change: dict[str, Any]
) -> None:
    # Built in code, so load()'s checks are bypassed: the run must still refuse it before its row.
    base = Config(backends=Backends(legacy=Backend(url=DEAD), candidate=Backend(url=DEAD + "0")))
    db = tmp_path / "r.db"
    Store.open(db).close()
    with pytest.raises(ConfigError) as info:
        aio.run(replay_captures(dataclasses.replace(base, **change), [secret_capture], db=db))
    assert "hunter2" not in str(info.value)
    with Store.open(db, create=False) as store:
        assert store.runs() == []
