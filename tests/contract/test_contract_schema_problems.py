"""Schemas the fast validator cannot compile: a valid one falls back to ``jsonschema``; an invalid one
makes only the operations that use it unusable, each reported as "schema invalid: …"."""

from __future__ import annotations

import json
from pathlib import Path

from paritycheck.contract import load_spec
from paritycheck.contract.validator import compile_schema
from paritycheck.models import Reply

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi"

SPEC = """\
openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /notes:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
  /broken:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Broken"}
  /other:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: integer}}}
components:
  schemas:
    Note:
      type: object
      required: [text]
      properties:
        text: {type: string, pattern: "^.{0,262144}$"}
    Broken:
      type: object
      required: [id, id]
      properties:
        id: {type: integer}
"""


def _reply(body: object) -> Reply:
    return Reply(200, headers=(("content-type", "application/json"),), body=json.dumps(body).encode())


def test_a_pattern_jsonschema_rs_cannot_compile_falls_back_to_jsonschema() -> None:
    check = compile_schema({"type": "string", "pattern": "^.{0,262144}$"})
    assert check("short") == []
    assert [f.keyword for f in check(5)] == ["type"]
    (missing,) = compile_schema(
        {"type": "object", "required": ["a"], "properties": {}, "pattern": "^.{0,9}$"}
    )({})
    assert missing.path == "$.a" and missing.keyword == "required"
    # Every missing property is named, its own, not the first one three times ("3× $.alpha").
    three = compile_schema(
        {"type": "object", "required": ["alpha", "beta", "gamma", "delta"], "pattern": "^.{0,9}$",
         "properties": {"item": {"type": "object", "required": ["x", "y"]}}}
    )({"beta": 1, "item": {}})  # fmt: skip
    assert sorted(f.path for f in three) == ["$.alpha", "$.delta", "$.gamma", "$.item.x", "$.item.y"]
    assert {f.keyword for f in three} == {"required"} and all(f.value is None for f in three)


def test_one_invalid_schema_makes_only_its_operations_unusable(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    contract = load_spec(spec)  # does not refuse the whole spec
    assert len(contract.operations) == 3
    assert contract.validate("GET", "/notes", _reply({"text": "hi"})) == []
    assert [v.keyword for v in contract.validate("GET", "/notes", _reply({"text": 1})) or []] == ["type"]
    assert contract.validate("GET", "/other", _reply({"id": 1})) == []
    (violation,) = contract.validate("GET", "/broken", _reply({"id": 1})) or []
    assert violation.message.startswith("schema invalid: ")
    assert "non-unique" in violation.message
    assert "\n" not in violation.message and str(spec.name) in violation.message
