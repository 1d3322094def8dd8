"""Stateful sequences from OpenAPI links: create, then read what was created, with each backend's own id.

An operation's response may name *links* to other operations (``createProject`` 201 → ``getProject``
with ``project_id: $response.body#/id``). For each link, the generated capture gets a sequence: the
source request, recorded with an answer that holds a unique placeholder at the link's place, then the
target request with that placeholder as its parameter. At replay, session correlation (docs/sessions.md)
learns each backend's own value at that place from its answer to the source write, and sends it in the
target request: the legacy reads the project the legacy created, the candidate its own.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

from paritycheck.explore.generate import (
    Generated,
    base_of,
    case_request,
    label,
    operation_path,
    operations,
    security,
)
from paritycheck.models import SAFE_METHODS

STATEFUL = "stateful"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")


@dataclass(frozen=True, slots=True)
class Link:
    """One OpenAPI link: after ``source`` answers ``status``, call ``target`` with ``parameters``."""

    name: str
    source: str
    status: str
    target: str
    #: Target parameter name -> runtime expression (``$response.body#/id``).
    parameters: dict[str, str]


def find_links(schema: Any) -> list[Link]:
    """The links of the spec whose source and target operations exist (by operationId or operationRef)."""
    raw = schema.raw_schema
    by_id: dict[str, str] = {}
    for path, item in (raw.get("paths") or {}).items():
        for method in _METHODS:
            op = (item or {}).get(method)
            if isinstance(op, dict) and op.get("operationId"):
                by_id[op["operationId"]] = f"{method.upper()} {operation_path(raw, method, path)}"
    found: list[Link] = []
    for path, item in (raw.get("paths") or {}).items():
        for method in _METHODS:
            op = (item or {}).get(method)
            if not isinstance(op, dict):
                continue
            for status, response in (op.get("responses") or {}).items():
                for name, link in ((response or {}).get("links") or {}).items():
                    link = _resolve(raw, link)
                    target = by_id.get(link.get("operationId", "")) or _by_ref(
                        raw, link.get("operationRef", "")
                    )
                    params = link.get("parameters") or {}
                    if target and isinstance(params, dict):
                        source = f"{method.upper()} {operation_path(raw, method, path)}"
                        found.append(Link(name, source, str(status), target, dict(params)))
    return found


def stateful(
    schema: Any,
    links: list[Link],
    valid: dict[str, Generated],
    *,
    allow_writes: bool,
    usable: frozenset[str] | None = None,
) -> list[Generated]:
    """Source-then-target requests for each link whose source had a valid example generated."""
    from schemathesis import GenerationMode
    from schemathesis.config import GenerationConfig

    ops = {label(op): op for op in operations(schema)}
    out: list[Generated] = []
    for n, link in enumerate(links):
        source, target_op = valid.get(link.source), ops.get(link.target)
        if source is None or target_op is None:
            continue
        if target_op.method.upper() not in SAFE_METHODS and not allow_writes:
            continue
        placeholder = "pclink" + hashlib.sha256(f"{n}:{link.name}".encode()).hexdigest()[:20]
        recorded = _recorded(link, placeholder)
        if recorded is None:
            continue
        cases = schema.iter_coverage_cases(
            target_op,
            generation_modes=[GenerationMode.POSITIVE],
            generation_config=GenerationConfig(allow_x00=False, codec="utf-8"),
        )
        case = next(itertools.islice(cases, 1), None)
        if case is None:
            continue
        target = _target(case, link, placeholder, usable)
        if target is None:
            continue
        why = f"link {link.name}: {link.source} {link.status} then {link.target}"
        out.append(replace(source, kind=STATEFUL, description=why, recorded=recorded))
        out.append(target)
    return out


def _recorded(link: Link, placeholder: str) -> tuple[int, bytes] | None:
    """The source's recorded answer: the placeholder at every place a link parameter reads."""
    body: dict[str, Any] = {}
    for expression in link.parameters.values():
        if not isinstance(expression, str) or not expression.startswith("$response.body#/"):
            return None  # headers, request values and constants are not followed yet
        keys = [k.replace("~1", "/").replace("~0", "~") for k in expression.split("#/", 1)[1].split("/")]
        node = body
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = placeholder
    if set(body) == {"data"}:  # a {success, data, error} envelope, as such APIs answer
        body = {"success": True, "data": body["data"], "error": None}
    status = int(link.status) if link.status.isdigit() else 200
    return status, json.dumps(body).encode()


def _target(case: Any, link: Link, placeholder: str, usable: frozenset[str] | None) -> Generated | None:
    for name in link.parameters:
        param = name.split(".", 1)[1] if "." in name else name
        if param in (case.path_parameters or {}):
            case.path_parameters[param] = placeholder
        elif case.query is not None:
            case.query[param] = placeholder
    op = case.operation
    # It joins the source's session by the linked value it sends (docs/sessions.md), whatever its scheme.
    return case_request(
        label(op), STATEFUL, f"link {link.name} from {link.source}", case,
        security=security(op, usable), base=base_of(op),
    )  # fmt: skip


def _resolve(raw: dict[str, Any], node: Any) -> dict[str, Any]:
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        for key in ref[2:].split("/"):
            raw = raw.get(key, {}) if isinstance(raw, dict) else {}
        return raw if isinstance(raw, dict) else {}
    return node if isinstance(node, dict) else {}


def _by_ref(raw: dict[str, Any], ref: str) -> str | None:
    # operationRef: "#/paths/~1api~1v1~1projects~1{project_id}/get"
    if not ref.startswith("#/paths/"):
        return None
    path, _, method = ref[len("#/paths/") :].rpartition("/")
    if method not in _METHODS:
        return None
    return f"{method.upper()} {operation_path(raw, method, path.replace('~1', '/').replace('~0', '~'))}"
