"""deploy/grafana/paritycheck.json reads what a real listener's /metrics serves: every metric it names,
with the labels it groups by."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.live.livehelpers import backend, config, live

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "paritycheck.json"


def _exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return exprs


def _handler(name: str) -> web.Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        differs = name == "candidate" and request.path.endswith("/2")
        return web.json_response({"n": 2 if differs else 1})

    return handle


async def test_every_metric_the_dashboard_names_is_served(tmp_path: Path) -> None:
    async with (
        backend(_handler("legacy")) as legacy,
        backend(_handler("candidate")) as candidate,
        live(config(legacy, candidate), tmp_path / "s.db", mode="mirror", admin="127.0.0.1:0",
             shadow_in_child=False) as server,
        httpx.AsyncClient() as client,
    ):  # fmt: skip
        url = f"http://127.0.0.1:{server.port}"
        for path in ("/items/1", "/items/2"):
            await client.get(url + path)
        await client.post(url + "/orders", content=b"{}")  # a write: skipped
        for _ in range(200):
            if server.metrics.totals.seen == 3:
                break
            await asyncio.sleep(0.02)
        text = (await client.get(f"http://127.0.0.1:{server.admin_port}/metrics")).text
    served: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            served.setdefault(sample.name, set()).update(sample.labels)
    exprs = _exprs()
    named = {m for e in exprs for m in re.findall(r"\bparitycheck_[a-z_]+", e)}
    live_metrics = (
        "exchanges_total",
        "dropped_total",
        "skipped_total",
        "queue_depth",
        "latency_seconds_bucket",
    )
    assert named == {f"paritycheck_live_{m}" for m in live_metrics}
    assert named <= set(served), named - set(served)
    for expr in exprs:
        for metric in re.findall(r"\bparitycheck_[a-z_]+", expr):
            grouped = {g.strip() for by in re.findall(r"by \(([^)]*)\)", expr) for g in by.split(",")}
            matched = set(re.findall(r"\b([a-z_]+)=~?\"", expr)) - {
                "instance"
            }  # instance: Prometheus adds it
            assert (grouped | matched) - {"instance"} <= served[metric], (expr, served[metric])
    outcomes = {
        s.labels["outcome"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "outcome" in s.labels
    }
    assert {"matched", "mismatched", "skipped"} <= outcomes
