"""Validating replies: status, content type, headers and JSON bodies, with OpenAPI's own rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paritycheck.contract import Contract, Violation, load_spec
from paritycheck.models import Recorded, Reply

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi" / "features"
UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
USER = {
    "id": UUID,
    "email": "a@example.com",
    "nickname": None,
    "role": "admin",
    "created_at": "2024-05-01T12:00:00Z",
}


@pytest.fixture(scope="module")
def api30() -> Contract:
    return load_spec(DATA / "api30.yaml")


@pytest.fixture(scope="module")
def api31() -> Contract:
    return load_spec(DATA / "api31.yaml")


@pytest.fixture(scope="module")
def swagger() -> Contract:
    return load_spec(DATA / "swagger.yaml")


def reply(
    status: int,
    body: Any = None,
    *,
    ctype: str = "application/json",
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> Reply:
    pairs = [("content-type", ctype)] if ctype else []
    pairs += list((headers or {}).items())
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return Reply(status, tuple(pairs), data)


def check(contract: Contract, method: str, path: str, r: Reply) -> list[Violation]:
    found = contract.validate(method, path, r)
    assert found is not None, f"{method} {path} should be documented"
    return found


def keywords(found: list[Violation]) -> set[tuple[str, str]]:
    return {(v.path, v.keyword) for v in found}


USER_OK = {"x-rate-limit": "5"}


def test_conforming_user(api30: Contract) -> None:
    assert check(api30, "GET", "/api/v1/users/42", reply(200, USER, headers=USER_OK)) == []


def test_violation_fields(api30: Contract) -> None:
    [v] = check(api30, "GET", "/api/v1/users/42", reply(200, {**USER, "email": 5}, headers=USER_OK))
    assert v.operation == "GET /api/v1/users/{id}"
    assert v.status == 200
    assert (v.path, v.keyword, v.value) == ("$.email", "type", 5)
    assert "string" in v.message


def test_undocumented_request_is_none(api30: Contract) -> None:
    assert api30.validate("GET", "/api/v1/nothing", reply(200, {})) is None
    assert api30.validate("PATCH", "/api/v1/users/1", reply(200, {})) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**USER, "id": "not-a-uuid"}, ("$.id", "format")),
        ({**USER, "email": "nobody"}, ("$.email", "format")),
        ({**USER, "created_at": "2024-05-01"}, ("$.created_at", "format")),
        ({k: v for k, v in USER.items() if k != "email"}, ("$.email", "required")),
        ({**USER, "role": "owner"}, ("$.role", "enum")),
        ({**USER, "password": "hunter2"}, ("$.password", "writeOnly")),
    ],
)
def test_body_violations(api30: Contract, body: dict[str, Any], expected: tuple[str, str]) -> None:
    found = check(api30, "GET", "/api/v1/users/42", reply(200, body, headers=USER_OK))
    assert expected in keywords(found)


def test_nullable_30(api30: Contract) -> None:
    ok = {**USER, "nickname": None, "role": None}
    assert check(api30, "GET", "/api/v1/users/1", reply(200, ok, headers=USER_OK)) == []
    found = check(api30, "GET", "/api/v1/users/1", reply(200, {**USER, "email": None}, headers=USER_OK))
    assert ("$.email", "type") in keywords(found)


def test_required_write_only_property_is_not_required_in_responses(api30: Contract) -> None:
    assert "password" not in USER
    assert check(api30, "GET", "/api/v1/users/me", reply(200, USER)) == []


def test_writeonly_message_does_not_leak_the_value(api30: Contract) -> None:
    [v] = check(api30, "GET", "/api/v1/users/me", reply(200, {**USER, "password": "hunter2-secret"}))
    assert v.keyword == "writeOnly"
    assert "hunter2" not in v.message
    assert "hunter2" not in repr(v.value)


def test_ref_siblings_are_ignored_in_30(api30: Contract) -> None:
    # `manager: {$ref: User, nullable: true}`: 3.0 ignores the sibling, so null is a violation;
    # `reviewer: {nullable: true, allOf: [User]}` is the 3.0 way and accepts null.
    assert check(api30, "GET", "/api/v1/numbers", reply(200, {"reviewer": None, "manager": USER})) == []
    found = check(api30, "GET", "/api/v1/numbers", reply(200, {"manager": None}))
    assert ("$.manager", "type") in keywords(found)


def test_boolean_exclusive_maximum_and_int32(api30: Contract) -> None:
    assert check(api30, "GET", "/api/v1/numbers", reply(200, {"ratio": 0.5, "small": 7})) == []
    found = check(api30, "GET", "/api/v1/numbers", reply(200, {"ratio": 1, "small": 2**31}))
    assert keywords(found) == {("$.ratio", "exclusiveMaximum"), ("$.small", "maximum")}


def test_status_resolution(api30: Contract) -> None:
    problem = {"title": "nope"}
    # Exact 404 documents application/json; 4XX documents problem+json; default documents no content.
    assert check(api30, "GET", "/api/v1/users/1", reply(404, problem)) == []
    found = check(api30, "GET", "/api/v1/users/1", reply(404, problem, ctype="application/problem+json"))
    assert keywords(found) == {("content-type", "content-type")}
    assert check(api30, "GET", "/api/v1/users/1", reply(409, problem, ctype="application/problem+json")) == []
    found = check(
        api30, "GET", "/api/v1/users/1", reply(409, {"status": 409}, ctype="application/problem+json")
    )
    assert keywords(found) == {("$.title", "required")}
    assert check(api30, "GET", "/api/v1/users/1", reply(500, "<html>", ctype="text/html")) == []


def test_undocumented_status(api30: Contract) -> None:
    [v] = check(api30, "DELETE", "/api/v1/users/1", reply(200, {}))
    assert (v.path, v.keyword, v.value) == ("status", "status", 200)
    assert check(api30, "DELETE", "/api/v1/users/1", reply(204, ctype="")) == []


def test_transport_failure_is_not_a_violation(api30: Contract) -> None:
    assert check(api30, "GET", "/api/v1/users/1", Reply(0, error="connection refused")) == []


def test_headers(api30: Contract) -> None:
    missing = check(api30, "GET", "/api/v1/users/1", reply(200, USER))
    assert keywords(missing) == {("header:x-rate-limit", "header")}
    bad = check(api30, "GET", "/api/v1/users/1", reply(200, USER, headers={"x-rate-limit": "lots"}))
    assert keywords(bad) == {("header:x-rate-limit", "type")}
    negative = check(api30, "GET", "/api/v1/users/1", reply(200, USER, headers={"x-rate-limit": "-1"}))
    assert keywords(negative) == {("header:x-rate-limit", "minimum")}
    flags = {"x-rate-limit": "3", "x-beta": "true"}
    assert check(api30, "GET", "/api/v1/users/1", reply(200, USER, headers=flags)) == []
    flags["x-beta"] = "maybe"
    assert keywords(check(api30, "GET", "/api/v1/users/1", reply(200, USER, headers=flags))) == {
        ("header:x-beta", "type")
    }


def test_content_type(api30: Contract) -> None:
    found = check(api30, "GET", "/api/v1/users/me", reply(200, USER, ctype="text/plain"))
    assert keywords(found) == {("content-type", "content-type")}
    no_header = check(api30, "GET", "/api/v1/users/me", reply(200, USER, ctype=""))
    assert keywords(no_header) == {("content-type", "content-type")}
    with_charset = check(
        api30, "GET", "/api/v1/users/me", reply(200, USER, ctype="application/json; charset=utf-8")
    )
    assert with_charset == []


def test_invalid_json_body(api30: Contract) -> None:
    found = check(api30, "GET", "/api/v1/users/me", reply(200, raw=b"{not json"))
    assert keywords(found) == {("$", "json")}


def test_binary_bodies_are_never_schema_validated(api30: Contract, swagger: Contract) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00binary"
    assert check(api30, "GET", "/api/v1/users/1/avatar", reply(200, raw=png, ctype="image/png")) == []
    octets = reply(200, raw=png, ctype="application/octet-stream")
    assert check(api30, "GET", "/api/v1/users/1/avatar", octets) == []
    pdf = reply(200, raw=b"%PDF-1.7 binary", ctype="application/pdf")
    assert check(swagger, "GET", "/api/orders/1/receipt", pdf) == []


def test_discriminator_with_mapping_selects_the_branch(api30: Contract) -> None:
    ok = [{"kind": "cat", "lives": 9}, {"kind": "dog", "bark": True}]
    assert check(api30, "GET", "/api/v1/pets", reply(200, ok)) == []
    # A cat with a dog's fields: the error names the cat's missing field, not a vague oneOf failure.
    found = check(api30, "GET", "/api/v1/pets", reply(200, [{"kind": "cat", "bark": True}]))
    assert keywords(found) == {("$[0].lives", "required")}
    unknown = check(api30, "GET", "/api/v1/pets", reply(200, [{"kind": "cow"}]))
    assert keywords(unknown) == {("$[0].kind", "discriminator")}
    absent = check(api30, "GET", "/api/v1/pets", reply(200, [{"lives": 1}]))
    assert keywords(absent) == {("$[0].kind", "discriminator")}


def test_discriminator_by_inheritance(api30: Contract) -> None:
    ok = [
        {"type": "Bird", "name": "tweety", "wingspan": 0.2},
        {"type": "Fish", "name": "nemo", "fins": 3},
        {"type": "Animal", "name": "generic"},
    ]
    assert check(api30, "GET", "/api/v1/animals", reply(200, ok)) == []
    found = check(api30, "GET", "/api/v1/animals", reply(200, [{"type": "Fish", "name": "nemo"}]))
    assert keywords(found) == {("$[0].fins", "required")}
    found = check(api30, "GET", "/api/v1/animals", reply(200, [{"type": "Bird", "wingspan": 1}]))
    assert keywords(found) == {("$[0].name", "required")}


def test_refs_in_other_files(api30: Contract) -> None:
    goal = {"id": 1, "title": "t", "due": None, "owner": {"email": "o@example.com"}}
    assert check(api30, "GET", "/api/v1/goals/1", reply(200, goal)) == []
    found = check(
        api30, "GET", "/api/v1/goals/1", reply(200, {**goal, "owner": {"email": "x"}, "due": "soon"})
    )
    assert keywords(found) == {("$.owner.email", "format"), ("$.due", "format")}


def test_31_type_arrays_ref_siblings_const_and_anyof_discriminator(api31: Contract) -> None:
    base = {"id": UUID, "note": None, "size": 3, "shape": {"shape": "Circle", "radius": 1.5}, "version": 2}
    assert check(api31, "GET", "/v2/items/1", reply(200, base)) == []
    cases = {
        ("$.note", "type"): {**base, "note": 5},
        ("$.size", "maximum"): {**base, "size": 11},  # sibling of $ref applies in 3.1
        ("$.size", "minimum"): {**base, "size": -1},
        ("$.version", "const"): {**base, "version": 3},
        ("$.shape.side", "required"): {**base, "shape": {"shape": "Square", "radius": 2}},
    }
    for expected, body in cases.items():
        assert keywords(check(api31, "GET", "/v2/items/1", reply(200, body))) == {expected}


def test_swagger_20(swagger: Contract) -> None:
    order = {"id": 1, "total": 9.5, "coupon": None}
    headers = {"x-request-id": UUID}
    assert check(swagger, "GET", "/api/orders/1", reply(200, order, headers=headers)) == []
    found = check(swagger, "GET", "/api/orders/1", reply(200, {"id": "1"}, headers={"x-request-id": "nope"}))
    assert keywords(found) == {("$.id", "type"), ("$.total", "required"), ("header:x-request-id", "format")}
    assert check(swagger, "GET", "/api/orders/1", reply(404, {"message": "gone"})) == []
    assert keywords(check(swagger, "GET", "/api/orders/1", reply(404, {}))) == {("$.message", "required")}


def test_recursive_schema(swagger: Contract) -> None:
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert check(swagger, "GET", "/api/tree", reply(200, tree)) == []
    tree["children"][0]["children"][0]["name"] = 3  # type: ignore[index]
    found = check(swagger, "GET", "/api/tree", reply(200, tree))
    assert keywords(found) == {("$.children[0].children[0].name", "type")}


def test_swagger_discriminator(swagger: Contract) -> None:
    assert (
        check(swagger, "GET", "/api/pets", reply(200, [{"petType": "Cat", "lives": 9}, {"petType": "Pet"}]))
        == []
    )
    [v] = check(swagger, "GET", "/api/pets", reply(200, [{"petType": "Cat"}]))
    assert (v.path, v.keyword, v.value) == ("$[0].lives", "required", None)
    [v] = check(swagger, "GET", "/api/pets", reply(200, [{"petType": "Dog"}]))
    assert (v.path, v.keyword, v.value) == ("$[0].petType", "discriminator", "Dog")


def test_recorded_responses_validate_too(swagger: Contract) -> None:
    recorded = Recorded(404, (("content-type", "application/json"),), None)
    assert check(swagger, "GET", "/api/orders/1", recorded) == []


def test_big_integers_and_long_values_are_bounded(api30: Contract) -> None:
    found = check(
        api30, "GET", "/api/v1/numbers", reply(200, raw=b'{"small": 123456789012345678901234567890}')
    )
    assert keywords(found) == {("$.small", "maximum")}
    long_text = "x" * 5000
    [v] = check(api30, "GET", "/api/v1/users/me", reply(200, {**USER, "email": [long_text]}))
    assert len(v.message) <= 300
    assert len(json.dumps(v.value)) <= 500
