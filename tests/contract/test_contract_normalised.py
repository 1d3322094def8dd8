"""The normalised view: [normalise] rules applied alike to bodies and schemas."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from paritycheck.capture import read
from paritycheck.config import Config, EndpointRule, NormaliseConfig
from paritycheck.contract import Contract, ContractReport, load_spec
from paritycheck.contract.normalised import normalised_contract, normalised_schema
from paritycheck.contract.validator import compile_schema
from paritycheck.models import Reply
from paritycheck.run import endpoint_matcher

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "contracts" / "demo-api.yaml"
JSON = (("content-type", "application/json"),)
SNAKE = NormaliseConfig()


def root(body: Any, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs or {}, "allOf": [body]}


ENVELOPE = {
    "Ok": {
        "type": "object",
        "required": ["success", "data", "error"],
        "properties": {"success": {"const": True}, "data": {"type": "object"}, "error": {"type": "null"}},
    },
    "Err": {
        "type": "object",
        "required": ["success", "data", "error"],
        "properties": {
            "success": {"const": False},
            "data": {"type": "null"},
            "error": {
                "type": "object",
                "required": ["errorCode"],
                "properties": {"errorCode": {"type": "string"}},
            },
        },
    },
}
ITEM = {"type": "object", "required": ["itemId"], "properties": {"itemId": {"type": "integer"}}}
WRAPPED = {"allOf": [{"$ref": "#/$defs/Ok"}, {"properties": {"data": ITEM}}]}


def valid(schema: dict[str, Any], instance: Any) -> bool:
    return not compile_schema(schema)(instance)


@pytest.mark.parametrize("code", ["200", "2XX"])
def test_success_envelope_becomes_its_data(code: str) -> None:
    schema = normalised_schema(root(WRAPPED, ENVELOPE), code=code, cfg=SNAKE)
    assert valid(schema, {"item_id": 1})
    assert not valid(schema, {"item_id": "1"})
    assert not valid(schema, {"success": True, "data": {"itemId": 1}, "error": None})


def test_failure_envelope_becomes_error_object() -> None:
    for code in ("404", "default"):  # default: the flag's const says failure
        schema = normalised_schema(root({"$ref": "#/$defs/Err"}, ENVELOPE), code=code, cfg=SNAKE)
        assert valid(schema, {"error": {"error_code": "X"}})
        assert not valid(schema, {"detail": "not found"})


def test_default_without_a_pinned_flag_accepts_either_form() -> None:
    loose = {
        "type": "object",
        "properties": {"success": {"type": "boolean"}, "data": ITEM, "error": {"type": ["object", "null"]}},
    }
    schema = normalised_schema(root(loose), code="default", cfg=SNAKE)
    assert valid(schema, {"item_id": 1})
    assert valid(schema, {"error": {"any": "thing"}})
    assert not valid(schema, {"item_id": "x"})


def test_not_an_envelope_is_left_alone() -> None:
    page = {
        "type": "object",
        "required": ["data", "items"],
        "properties": {"data": {}, "items": {}, "ok": {}},
    }
    schema = normalised_schema(root(page), code="200", cfg=SNAKE)
    assert valid(schema, {"data": 1, "items": []})
    assert not valid(schema, {"items": []})


def test_envelope_none_keeps_the_envelope_but_converts_keys() -> None:
    cfg = dataclasses.replace(SNAKE, envelope="none")
    schema = normalised_schema(root(WRAPPED, ENVELOPE), code="200", cfg=cfg)
    assert valid(schema, {"success": True, "data": {"item_id": 1}, "error": None})
    assert not valid(schema, {"item_id": 1})


def test_key_case_reaches_required_const_and_enum() -> None:
    body = {
        "type": "object",
        "required": ["userId", "kind"],
        "properties": {"userId": {"type": "integer"}, "kind": {"const": {"kindName": "a"}}},
        "dependentRequired": {"userId": ["kind"]},
    }
    snake = normalised_schema(root(body), code="200", cfg=SNAKE)
    assert valid(snake, {"user_id": 1, "kind": {"kind_name": "a"}})
    assert not valid(snake, {"userId": 1, "kind": {"kind_name": "a"}})
    camel = normalised_schema(root(body), code="200", cfg=dataclasses.replace(SNAKE, key_case="camel"))
    assert valid(camel, {"userId": 1, "kind": {"kindName": "a"}})


def test_null_equals_missing_makes_nullable_required_properties_optional() -> None:
    body = {
        "type": "object",
        "required": ["team", "name"],
        "properties": {"team": {"type": ["string", "null"]}, "name": {"type": "string"}},
    }
    cfg = dataclasses.replace(SNAKE, null_equals_missing=True)
    schema = normalised_schema(root(body), code="200", cfg=cfg)
    assert valid(schema, {"name": "x"})
    assert not valid(schema, {"team": "t"})


@pytest.fixture(scope="module")
def demo() -> Contract:
    return load_spec(DEMO)


@pytest.mark.parametrize("key_case", ["snake", "camel", "none"])
@pytest.mark.parametrize("envelope", ["auto", "none"])
def test_conforming_replies_still_conform_when_normalised(
    demo: Contract, key_case: str, envelope: str
) -> None:
    # The legacy's recorded answers honour the raw contract; normalising body and schema alike keeps that.
    view = normalised_contract(
        demo, NormaliseConfig(key_case=key_case, envelope=envelope, null_equals_missing=True)
    )
    raw, normalised = ContractReport(demo), ContractReport(view)
    for ex in read(ROOT / "captures" / "auth.har"):
        assert ex.recorded is not None
        raw.add(ex.request.method, ex.request.path, recorded=ex.recorded)
        normalised.add(ex.request.method, ex.request.path, recorded=ex.recorded)
    assert raw.ok
    assert normalised.ok, normalised.to_json()["operations"]
    assert normalised.to_json()["mode"] == "normalised"


def test_candidate_shape_conforms_only_when_normalised(demo: Contract) -> None:
    kpi = {
        "id": 1,
        "name": "Revenue",
        "unit": "EUR",
        "current_value": 1.5,
        "target_value": 2,
        "weight": 0.5,
        "owner_id": "0f2891fa-e4da-5df0-a056-f6c143a70dd5",
        "created_at": "2024-01-01T00:00:00+00:00",
        "updated_at": "2024-01-01T00:00:00+00:00",
        "meta": {
            "request_id": "0f2891fa-e4da-5df0-a056-f6c143a70dd5",
            "generated_at": "2024-01-01T00:00:00Z",
        },
    }
    good = Reply(200, JSON, json.dumps(kpi).encode())
    bad = Reply(200, JSON, json.dumps({**kpi, "target_value": "2.00"}).encode())
    view = normalised_contract(demo, SNAKE)
    assert demo.validate("GET", "/api/v1/kpis/1", good)
    assert view.validate("GET", "/api/v1/kpis/1", good) == []
    found = view.validate("GET", "/api/v1/kpis/1", bad)
    assert found is not None
    assert [(v.path, v.keyword) for v in found] == [("$.target_value", "type")]


def test_comparison_rules_do_not_hide_contract_fields(demo: Contract) -> None:
    # An ignored field is noise for diffing, but it is still on the wire and must honour the contract.
    cfg = dataclasses.replace(SNAKE, ignore=("$.meta",))
    reply = Reply(
        200, JSON, json.dumps({"status": "Healthy", "checks": {}, "meta": {"request_id": 5}}).encode()
    )
    found = normalised_contract(demo, cfg).validate("GET", "/api/v1/health", reply)
    assert found is not None
    assert {v.path for v in found} >= {"$.meta.request_id", "$.meta.generated_at"}


def test_endpoint_grouping_precedence(demo: Contract) -> None:
    config = Config(endpoint=(EndpointRule(match="GET /api/v1/kpis/{anything}/tags"),))
    matcher = endpoint_matcher(config, demo)
    assert matcher.endpoint("GET", "/api/v1/kpis/3/tags") == "GET /api/v1/kpis/{anything}/tags"  # config
    assert matcher.endpoint("GET", "/api/v1/kpis/3") == "GET /api/v1/kpis/{kpi_id}"  # spec
    assert matcher.endpoint("GET", "/api/v2/things/42") == "GET /api/v2/things/{id}"  # automatic


def test_endpoint_patterns_put_literal_segments_first(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /users/{id}: {get: {responses: {'200': {description: x}}}}\n"
        "  /users/me: {get: {responses: {'200': {description: x}}}}\n"
    )
    contract = load_spec(spec)
    assert contract.endpoint_patterns() == ["GET /users/me", "GET /users/{id}"]
    assert endpoint_matcher(Config(), contract).endpoint("GET", "/users/me") == "GET /users/me"
