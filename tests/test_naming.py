"""Endpoint names across runs (issue 21.7, issue 22): learned templates and the spec's paths name later
runs; one endpoint keeps one name in a report, in history and in a period judged by the gate."""

from __future__ import annotations

from pathlib import Path

from paritycheck.config import GateConfig, parse
from paritycheck.contract import load_contract
from paritycheck.gate import evaluate_runs
from paritycheck.run import replay_captures
from paritycheck.store import Store
from tests.harutil import entry, gets, write_har
from tests.servers import json_serve

SPEC = """
openapi: 3.0.3
info: {title: KPIs, version: "1"}
servers: [{url: "https://kpis.example/api"}]
paths:
  /v1/kpis/{kpi_id}:
    get:
      parameters: [{name: kpi_id, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: a KPI}}
  /v1/kpis/summary:
    get:
      responses: {"200": {description: the summary}}
"""


async def replay(tmp_path: Path, name: str, paths: list[str], **kw: object) -> set[str]:
    """Replay GETs of ``paths`` into tmp_path/r.db; the endpoint names of the run."""
    capture = write_har(tmp_path / f"{name}.har", gets("https://prod.test", paths))
    routes = {p: {"ok": True} for p in paths}
    with json_serve(routes) as legacy, json_serve(routes) as candidate:
        config = parse(
            {"backends": {"legacy": legacy.url, "candidate": candidate.url}, "noise": {"samples": 0}},
            source="test",
        )
        result = await replay_captures(config, [capture], db=tmp_path / "r.db", **kw)  # type: ignore[arg-type]
    return {e.endpoint for e in result.summary.endpoints}


async def test_a_later_run_names_endpoints_as_the_earlier_ones_learned(tmp_path: Path) -> None:
    first = [f"/api/articles/post-{i}" for i in range(5)] + ["/api/articles/feed"] * 4
    first += [f"/api/profiles/user_{i}" for i in range(4)]
    assert await replay(tmp_path, "first", first) == {
        "GET /api/articles/{param}",
        "GET /api/articles/feed",
        "GET /api/profiles/{param}",
    }
    # one article and one profile: too few to learn anything from this run alone
    later = ["/api/articles/how-to-train-your-dragon", "/api/profiles/alice552303", "/api/articles/feed"]
    assert await replay(tmp_path, "later", later) == {
        "GET /api/articles/{param}",
        "GET /api/articles/feed",
        "GET /api/profiles/{param}",
    }


async def test_the_spec_names_its_run_and_the_runs_after_it(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    contract = load_contract(tmp_path / "spec.yaml")
    assert await replay(tmp_path, "before", ["/api/v1/kpis/1", "/api/v1/kpis/2"]) == {"GET /api/v1/kpis/{id}"}
    # named by the operation, with or without the servers' base path
    paths = ["/api/v1/kpis/7", "/v1/kpis/8", "/api/v1/kpis/summary"]
    assert await replay(tmp_path, "spec", paths, contract=contract) == {
        "GET /api/v1/kpis/{kpi_id}",
        "GET /api/v1/kpis/summary",
    }
    assert await replay(tmp_path, "after", ["/api/v1/kpis/9", "/api/v1/kpis/summary"]) == {
        "GET /api/v1/kpis/{kpi_id}",
        "GET /api/v1/kpis/summary",
    }
    # gate --since judges the three runs as one: one endpoint, not {id} beside {kpi_id}
    with Store.open(tmp_path / "r.db", create=False) as store:
        result = evaluate_runs(store, [1, 2, 3], GateConfig(min_samples=1), period="since the test began")
    endpoints = {c.endpoint for c in result.criteria if c.endpoint}
    assert endpoints == {"GET /api/v1/kpis/{kpi_id}", "GET /api/v1/kpis/summary"}


async def test_writes_skipped_by_the_selector_are_named_alike(tmp_path: Path) -> None:
    capture = write_har(
        tmp_path / "w.har",
        [entry("DELETE", f"https://prod.test/api/articles/post-{i}") for i in range(4)]
        + [entry("DELETE", "https://prod.test/api/articles/how-to-x")],
    )
    with json_serve() as legacy, json_serve() as candidate:
        config = parse({"backends": {"legacy": legacy.url, "candidate": candidate.url}}, source="test")
        result = await replay_captures(config, [capture], db=tmp_path / "r.db")
    assert {e.endpoint for e in result.summary.endpoints} == {"DELETE /api/articles/{param}"}
