"""The contract report: per-operation counts, coverage, JSON, JUnit, table, captures mode."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rich.console import Console

from paritycheck.contract import Contract, ContractReport, check_captures, load_spec, to_junit
from paritycheck.models import Reply

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi"
ORDER = {"id": 1, "total": 2.5}
JSON = (("content-type", "application/json"),)


@pytest.fixture(scope="module")
def swagger() -> Contract:
    return load_spec(DATA / "features" / "swagger.yaml")


def reply(status: int, body: object) -> Reply:
    return Reply(status, JSON, json.dumps(body).encode())


def test_run_mode_counts_each_side(swagger: Contract) -> None:
    report = ContractReport(swagger)
    report.add(
        "GET", "/api/orders/1", legacy=reply(200, ORDER), candidate=reply(200, {"id": "1", "total": 2.5})
    )
    report.add("GET", "/api/orders/2", legacy=reply(200, ORDER), candidate=reply(200, ORDER))
    report.add("GET", "/api/orders/3", legacy=reply(200, {"id": 3}), candidate=reply(200, {"id": 3}))
    report.add("GET", "/api/nothing/here", legacy=reply(200, {}), candidate=reply(200, {}))
    data = report.to_json()
    assert data["spec"] == swagger.source
    [orders] = [o for o in data["operations"] if o["operation"] == "GET /api/orders/{id}"]
    assert orders["seen"] == 3
    assert orders["legacy_violations"] == 1
    assert orders["candidate_violations"] == 2
    assert orders["candidate_only"] == 1
    assert "recorded_violations" not in orders
    sides = {(v["side"], v["path"], v["keyword"]) for v in orders["violations"]}
    assert sides == {
        ("candidate", "$.id", "type"),
        ("legacy", "$.total", "required"),
        ("candidate", "$.total", "required"),
    }
    assert all({"side", "status", "path", "keyword", "message"} <= set(v) for v in orders["violations"])
    assert data["undocumented"] == ["GET /api/nothing/here"]
    assert not report.ok
    json.dumps(data)  # serialisable


def test_coverage_lists_unseen_operations_and_statuses(swagger: Contract) -> None:
    report = ContractReport(swagger)

    def orders() -> list[str]:
        return [u for u in report.unexercised if "/orders/" in u]

    assert orders() == ["GET /api/orders/{id}", "GET /api/orders/{id}/receipt"]
    assert "GET /api/tree" in report.unexercised
    report.add("GET", "/api/orders/1", legacy=reply(200, ORDER), candidate=reply(200, ORDER))
    assert orders() == ["GET /api/orders/{id} 404", "GET /api/orders/{id}/receipt"]
    report.add(
        "GET", "/api/orders/9", legacy=reply(404, {"message": "x"}), candidate=reply(404, {"message": "x"})
    )
    assert orders() == ["GET /api/orders/{id}/receipt"]
    assert report.ok
    assert report.to_json()["unexercised"] == report.unexercised


def test_range_codes_count_as_exercised() -> None:
    contract = load_spec(DATA / "features" / "api30.yaml")
    report = ContractReport(contract)
    ok = Reply(
        200,
        (*JSON, ("x-rate-limit", "1")),
        json.dumps({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "email": "a@b.co"}).encode(),
    )
    report.add("GET", "/api/v1/users/1", legacy=ok, candidate=ok)
    report.add("GET", "/api/v1/users/1", legacy=Reply(418), candidate=Reply(418))
    left = [u for u in report.unexercised if u.startswith("GET /api/v1/users/{id} ")]
    assert left == ["GET /api/v1/users/{id} 404"]


def test_junit(swagger: Contract) -> None:
    report = ContractReport(swagger)
    report.add("GET", "/api/orders/1", legacy=reply(200, ORDER), candidate=reply(200, {"id": "<&>"}))
    report.add("GET", "/api/orders/1/receipt", legacy=Reply(200), candidate=Reply(200))
    report.add("GET", "/nope", legacy=Reply(200), candidate=Reply(200))
    root = ElementTree.fromstring(to_junit(report))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["GET /api/orders/{id}"].find("failure")
    assert failure is not None and "$.id" in (failure.text or "")
    assert cases["GET /api/orders/{id}/receipt"].find("failure") is None
    assert cases["undocumented requests"].find("skipped") is not None
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "1"


def test_table(swagger: Contract) -> None:
    report = ContractReport(swagger)
    report.add("GET", "/api/orders/1", legacy=reply(200, ORDER), candidate=reply(200, {}))
    console = Console(width=120, color_system=None, record=True)
    console.print(report.to_table())
    text = console.export_text()
    assert "GET /api/orders/{id}" in text
    assert "candidate violations" in text


def test_check_captures_validates_recorded_responses(tmp_path: Path, swagger: Contract) -> None:
    capture = tmp_path / "traffic.jsonl"
    lines = [
        {
            "method": "GET",
            "url": "http://h/api/orders/1",
            "response": {
                "status": 200,
                "headers": {"content-type": "application/json"},
                "body": json.dumps(ORDER),
            },
        },
        {
            "method": "GET",
            "url": "/api/orders/2",
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": '{"id": 2}'},
        },
        {"method": "GET", "url": "/api/orders/3"},
        {"method": "GET", "url": "/elsewhere", "response": {"status": 200}},
    ]
    capture.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = check_captures(swagger, [capture])
    data = report.to_json()
    [orders] = [o for o in data["operations"] if o["operation"] == "GET /api/orders/{id}"]
    assert orders["seen"] == 2  # the entry without a recorded response is not validated
    assert orders["recorded_violations"] == 1
    assert orders["legacy_violations"] == orders["candidate_violations"] == 0
    assert [v["side"] for v in orders["violations"]] == ["recorded"]
    assert data["undocumented"] == ["GET /elsewhere"]
