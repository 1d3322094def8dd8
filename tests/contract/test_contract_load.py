"""Loading OpenAPI descriptions: real public specs, local $refs across files, and invalid specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck.contract import load_spec
from paritycheck.errors import ExitStatus, SpecError

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi"
PUBLIC = sorted(p for p in DATA.iterdir() if p.suffix in (".yaml", ".json") and "openapi3.json" not in p.name)


@pytest.mark.parametrize("spec", PUBLIC, ids=lambda p: p.name)
def test_public_specs_load(spec: Path) -> None:
    contract = load_spec(spec)
    assert contract.version.startswith(("2.", "3.0", "3.1"))
    keys = contract.endpoint_patterns()
    assert len(keys) == len(set(keys))
    for op in contract.operations:
        assert op.key == f"{op.method} {op.template}"
        # Each documented template routes back to its own operation.
        concrete = op.template.replace("{", "").replace("}", "")
        assert contract.operation(op.method, concrete) is not None


def test_every_public_spec_is_attributed() -> None:
    attribution = (DATA / "ATTRIBUTION.md").read_text()
    for spec in DATA.iterdir():
        if spec.is_file() and spec.name != "ATTRIBUTION.md":
            prefix = spec.name.split("__", 1)[0]
            assert prefix in attribution, spec.name


def test_the_openapi_meta_schema_is_refused_as_not_a_description() -> None:
    with pytest.raises(SpecError, match="JSON Schema, not an OpenAPI description") as info:
        load_spec(DATA / "schemathesis__openapi3.json")
    assert info.value.hint


def test_refs_across_files_resolve() -> None:
    contract = load_spec(DATA / "features" / "api30.yaml")
    op = contract.operation("GET", "/api/v1/goals/7")
    assert op is not None and op.template == "/api/v1/goals/{goal_id}"
    assert "200" in op.responses


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("broken.yaml", "line 6"),
        ("missing_file.yaml", "paths./a.get.responses.200.content.application/json.schema.$ref"),
        ("missing_pointer.yaml", "paths./a.get.responses.200.content.application/json.schema.$ref"),
        ("paths_list.yaml", "paths: paths must be an object"),
        ("responses_list.yaml", "paths./a.get.responses: responses must be an object"),
    ],
)
def test_invalid_specs_name_file_and_location(name: str, where: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(DATA / "invalid" / name)
    assert name in info.value.message
    assert where in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint
    assert info.value.exit_status == ExitStatus.USAGE


def test_missing_file_names_the_referenced_file() -> None:
    with pytest.raises(SpecError, match=r"nowhere\.yaml"):
        load_spec(DATA / "invalid" / "missing_file.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must be an object"),
        ("info: {title: x}\npaths: {}\n", "no 'openapi' or 'swagger'"),
        ("openapi: 4.0.0\npaths: {}\n", "unsupported version"),
        ("openapi: 3.0.0\npaths:\n  /a: 5\n", "paths./a: a path item must be an object"),
        (
            "openapi: 3.0.0\npaths:\n  /a:\n    get: {responses: {'200': {$ref: 'http://x/y'}}}\n",
            "remote $ref",
        ),
        ("openapi: 3.0.0\npaths:\n  /a: {$ref: '#/paths/~1a'}\n", "circular $ref"),
    ],
)
def test_structural_errors(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError, match=message.replace("$", r"\$").replace(".", r"\.")):
        load_spec(spec)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "absent.yaml")


def test_lenient_with_specs_that_bend_the_standard(tmp_path: Path) -> None:
    spec = tmp_path / "bent.json"
    # JSON with integer status keys, a 2.0-style `required: true` on a property, `type: file` in 3.0,
    # no responses on an operation, and an unquoted YAML date as an enum value.
    spec.write_text(
        '{"openapi": "3.0.0", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": {"200": {'
        '"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {'
        '"n": {"type": "integer", "required": true}, "f": {"type": "file"}}}}}}}}, "post": {}}}}'
    )
    contract = load_spec(spec)
    assert [op.key for op in contract.operations] == ["GET /a", "POST /a"]
    dated = tmp_path / "dated.yaml"
    dated.write_text(
        "openapi: 3.0.0\npaths:\n  /d:\n    get:\n      responses:\n        200:\n          description: ok\n"
        "          content:\n            application/json:\n"
        "              schema: {type: string, enum: [2020-01-01]}\n"
    )
    assert load_spec(dated).operation("GET", "/d") is not None


def test_openapi_3_2_is_read_with_its_query_method_and_additional_operations() -> None:
    import json as _json

    from paritycheck.models import Reply

    contract = load_spec(Path(__file__).resolve().parents[1] / "data/openapi/features/api32.yaml")
    assert contract.version == "3.2.0"
    assert {op.key for op in contract.operations} == {
        "QUERY /lib/books", "COPY /lib/books", "GET /lib/books/{id}", "GET /lib/feed"
    }  # fmt: skip

    def reply(body: object) -> Reply:
        return Reply(200, (("content-type", "application/json"),), _json.dumps(body).encode())

    book = {"id": 1, "title": None, "kind": "book"}
    assert contract.validate("GET", "/lib/books/1", reply(book)) == []  # 2020-12: a type array, null
    wrong = contract.validate("GET", "/lib/books/1", reply({**book, "kind": "film"})) or []
    assert [v.keyword for v in wrong] == ["const"]
    assert contract.validate("QUERY", "/lib/books", reply({"items": [book]})) == []
    assert [v.path for v in contract.validate("QUERY", "/lib/books", reply({})) or []] == ["$.items"]
