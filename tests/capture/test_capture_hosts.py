"""Captures with many hosts: a browser HAR of a news page calls its API, CDNs, analytics and ads. Only the
hosts the user means are replayed, the rest are skipped with one reason, and the run says which and why."""

from __future__ import annotations

import json
from pathlib import Path

from paritycheck.capture import HostChoice, choose_hosts, read
from paritycheck.errors import ExitStatus
from tests.clirun import invoke
from tests.harutil import entry, write_har
from tests.servers import json_serve

API = "api.news.example"


def page(tmp_path: Path) -> Path:
    """The page, 12 API calls, 30 ad and CDN hosts with scripts and images, one analytics beacon."""
    entries = [entry("GET", "https://www.news.example/", response="<html></html>")]
    entries[0]["response"]["content"]["mimeType"] = "text/html"
    entries += [entry("GET", f"https://{API}/v1/articles/{i}", response=f'{{"id": {i}}}') for i in range(12)]
    for n in range(30):
        for kind in ("js", "png"):
            asset = entry("GET", f"https://cdn{n}.ads.example/a.{kind}", response="x")
            asset["response"]["content"]["mimeType"] = "image/png" if kind == "png" else "text/javascript"
            entries.append(asset)
    entries.append(entry("POST", "https://collect.analytics.example/beacon", body='{"e": 1}'))
    return write_har(tmp_path / "news.har", entries)


def test_the_dominant_api_host_is_replayed_and_the_rest_said(tmp_path: Path) -> None:
    har = page(tmp_path)
    routes = {f"/v1/articles/{i}": {"id": i} for i in range(12)}
    with json_serve(routes) as legacy, json_serve(routes) as cand:
        args = ["replay", str(har), "--legacy", legacy.url, "--candidate", cand.url, "--no-report"]
        shown = invoke(*args, "--db", "a.db", cwd=tmp_path)
        doc = json.loads(invoke(*args, "--db", "b.db", "--json", cwd=tmp_path).stdout)
        assert {p.rsplit("/", 1)[0] for p in legacy.paths} == {"/v1/articles"}
    assert shown.exit_code == ExitStatus.OK, shown.output
    assert doc["total"] == 74 and doc["matched"] == 12 and doc["skipped"] == 62
    (reason,) = doc["reasons"]["skipped"]
    assert reason["count"] == 62
    assert reason["reason"].startswith(f"other host than {API} (the site's API host")
    hosts = doc["hosts"]
    assert hosts["replayed"] == [API] and hosts["others"] == 32 and hosts["sampled"] == 74
    text = " ".join(shown.stdout.split())
    assert (
        f"hosts: replayed {API} (the site's API host: 12 of 74 sampled entries look like API calls)" in text
    )
    assert "32 other hosts skipped: cdn0.ads.example (2)" in text
    assert "--host or [replay] hosts to choose" in text


def test_the_user_chooses_with_host_or_the_configuration(tmp_path: Path) -> None:
    har = page(tmp_path)
    with json_serve({"/": {}}) as legacy, json_serve({"/": {}}) as cand:
        args = ["replay", str(har), "--legacy", legacy.url, "--candidate", cand.url, "--no-report", "--json"]
        chosen = json.loads(invoke(*args, "--host", "www.news.example", "--db", "a.db", cwd=tmp_path).stdout)
        (tmp_path / "paritycheck.toml").write_text('[replay]\nhosts = ["*"]\nallow_writes = true\n')
        every = json.loads(invoke(*args, "--db", "b.db", cwd=tmp_path).stdout)
    assert chosen["total"] - chosen["skipped"] == 1 and chosen["hosts"]["why"] == "as configured"
    assert every["skipped"] == 0 and every["hosts"]["replayed"] == ["*"]


def test_a_capture_recorded_against_a_backend_replays_that_hosts_entries(tmp_path: Path) -> None:
    with json_serve() as legacy, json_serve() as cand:
        port = legacy.url.rsplit(":", 1)[1]
        entries = [entry("GET", f"http://127.0.0.1:{port}/orders/{i}") for i in range(3)]
        entries += [entry("GET", f"https://api{i}.other.example/v1/x", response="{}") for i in range(5)]
        har = write_har(tmp_path / "c.har", entries)
        choice = choose_hosts(read(har), backends=(legacy.url, cand.url))
        assert choice.patterns == (f"127.0.0.1:{port}",) and choice.why == "the configured backends' host"


def test_one_host_or_relative_urls_replay_everything() -> None:
    assert choose_hosts(()).patterns == () and HostChoice().allows("any.example")
    only = choose_hosts(read(Path(__file__).parents[1] / "data/har/mitmproxy__har_files__charles.har"))
    assert only.patterns == () and only.why == "the capture's only host"
    # A real Firefox export: the site's own host, not the S3 bucket it loaded one file from.
    firefox = choose_hosts(read(Path(__file__).parents[1] / "data/har/mitmproxy__har_files__firefox.har"))
    assert firefox.patterns == ("mitmproxy.org",)
