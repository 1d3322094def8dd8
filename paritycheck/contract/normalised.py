"""The normalised view of a contract: the run's ``[normalise]`` conventions applied to body and schema.

A spec describes one wire format (say camelCase keys inside ``{"success", "data", "error"}``). A port
that answers snake_case bare payloads breaks that contract on every reply, which is the honest raw
result, but it buries the violations that matter. When the team has accepted those conventions as
``[normalise]`` rules, the normalised view applies the same rules to both sides of the check:

- **body**: :func:`paritycheck.compare.normalise.normalise` with the *convention* rules of ``[normalise]``
  (``key_case``, ``envelope``, ``timestamps``, ``null_equals_missing``, integral floats). The
  *comparison* rules (``ignore``, ``unordered``, ``float_tolerance``, per-endpoint rules) are not
  applied: a field ignored for diffing is still on the wire and must still honour the contract.
- **schema**, correspondingly:

  1. *Envelope* (``envelope = "auto"``), at the root only, as the normaliser unwraps bodies: an object
     schema whose properties (through ``allOf`` and ``$ref``) are all envelope keys, among them
     ``data`` and a success flag or ``error``/``errors``, is an envelope schema. On a success response
     it becomes its ``data`` sub-schema (repeatedly, for nested envelopes); on a failure it becomes
     ``{"error": <the error sub-schema>}``, the shape the normaliser gives a failed envelope. Success or
     failure is read from the flag's ``const`` when the schema pins it (``success: {const: true}``),
     else from the status code (``2XX``/``3XX`` success, ``4XX``/``5XX`` failure); for ``default``
     without a pinned flag, either form is accepted.
  2. *Key case*: property names in ``properties``, ``required``, ``dependentRequired`` and
     ``dependentSchemas`` are converted with the same function as the body's keys (``targetValue``
     becomes ``target_value`` under ``snake``), everywhere in the schema including ``$defs``.
     ``const`` and ``enum`` values are normalised like bodies (their keys, timestamps, numbers).
  3. *Null equals missing*: a required property whose own schema accepts null stops being required,
     since its null is dropped from the body.

Violation paths in this view name the normalised document (``$.target_value``, not
``$.data.targetValue``). Headers, status codes and content types are checked exactly as in raw mode.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from paritycheck.compare.normalise import ENVELOPE_KEYS, FLAGS, Rules, to_camel, to_snake
from paritycheck.config import NormaliseConfig
from paritycheck.contract.check import Contract, Media, Operation, ResponseSpec
from paritycheck.contract.schema import MANY, ONE
from paritycheck.contract.validator import Check, compile_schema, invalid_schema_check

__all__ = ["body_rules", "normalised_contract", "normalised_schema"]

_CONVERT: dict[str, Callable[[str], str]] = {"snake": to_snake, "camel": to_camel, "none": lambda k: k}
_DEPTH = 64


def body_rules(cfg: NormaliseConfig) -> Rules:
    """The rules applied to bodies: ``[normalise]`` without its comparison-only paths."""
    return Rules.from_config(dataclasses.replace(cfg, ignore=(), unordered=()))


def normalised_contract(contract: Contract, cfg: NormaliseConfig) -> Contract:
    """``contract`` with every body check seeing normalised bodies against normalised schemas."""
    rules = body_rules(cfg)
    compiled: dict[str, Check] = {}  # the same transformed schema is compiled once
    operations: list[Operation] = []
    for op in contract.operations:
        responses: dict[str, ResponseSpec] = {}
        for code, spec in op.responses.items():
            media: dict[str, Media] = {}
            for name, m in spec.media.items():
                if m.check is None or m.schema is None:
                    media[name] = m
                    continue
                schema = normalised_schema(m.schema, code=code, cfg=cfg)
                key = json.dumps(schema, sort_keys=True, default=str)
                check = compiled.get(key)
                if check is None:
                    try:
                        check = compile_schema(schema)
                    except ValueError as exc:
                        check = invalid_schema_check(f"{op.method} {op.template} {code}: {exc}")
                    compiled[key] = check
                media[name] = Media(m.media, _through(rules, check), schema)
            responses[code] = ResponseSpec(code, media, spec.headers)
        operations.append(Operation(op.method, op.template, op.path_template, responses))
    return Contract(
        contract.source,
        version=contract.version,
        title=contract.title,
        operations=operations,
        bases=contract.bases,
        digest=contract.digest,
        normalised=cfg,
    )


def _through(rules: Rules, check: Check) -> Check:
    def run(instance: Any) -> Any:
        return check(rules.apply(instance))

    return run


def normalised_schema(root: dict[str, Any], *, code: str, cfg: NormaliseConfig) -> dict[str, Any]:
    """A self-contained JSON Schema (``$defs`` + ``allOf: [body]``) seen through ``cfg`` for ``code``."""
    defs: dict[str, Any] = root.get("$defs", {})
    body: Any = {"allOf": root.get("allOf", [])}
    if cfg.envelope == "auto":
        body = _unwrap(body, defs, code)
    out = {"$schema": root.get("$schema"), "$defs": defs, "allOf": [body]}
    keys = _Keys(_CONVERT[cfg.key_case], body_rules(dataclasses.replace(cfg, envelope="none")))
    converted: dict[str, Any] = keys.schema(out)
    if cfg.null_equals_missing:
        converted = _optional_nulls(converted, converted["$defs"])
    return converted


# --- envelopes --------------------------------------------------------------------------------------


def _compact(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _gather(node: Any, defs: dict[str, Any], props: dict[str, list[Any]], depth: int = 0) -> None:
    """Collect the properties of an object schema through ``allOf`` and ``$ref`` (not anyOf/oneOf)."""
    if not isinstance(node, dict) or depth > _DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        _gather(defs.get(ref[8:]), defs, props, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        props.setdefault(_compact(name), []).append(sub)
    for sub in node.get("allOf") or ():
        _gather(sub, defs, props, depth + 1)


def _all(schemas: list[Any]) -> Any:
    return schemas[0] if len(schemas) == 1 else {"allOf": schemas}


def _pinned(schemas: list[Any], defs: dict[str, Any]) -> bool | None:
    """The boolean a flag's schemas pin it to (``const``/single ``enum``), if any."""
    for schema in schemas:
        for _ in range(_DEPTH):
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
                break
            schema = defs.get(ref[8:])
        if not isinstance(schema, dict):
            continue
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if isinstance(values, list) and len(values) == 1 and type(values[0]) is bool:
            return bool(values[0])
    return None


def _unwrap(body: Any, defs: dict[str, Any], code: str) -> Any:
    for _ in range(16):
        props: dict[str, list[Any]] = {}
        _gather(body, defs, props)
        if "data" not in props or any(name not in ENVELOPE_KEYS for name in props):
            return body
        flags = [name for name in FLAGS if name in props]
        if not flags and "error" not in props and "errors" not in props:
            return body
        success = next((p for p in (_pinned(props[f], defs) for f in flags) if p is not None), None)
        if success is None and code[:1] in "2345":
            success = code[:1] in "23"
        reasons = [_all(props[k]) for k in ("error", "errors", "message") if k in props]
        failure: Any = {
            "type": "object",
            "required": ["error"],
            "properties": {"error": reasons[0] if len(reasons) == 1 else {"anyOf": reasons or [{}]}},
        }
        if success is False:
            return failure
        if success is None:
            return {"anyOf": [_unwrap(_all(props["data"]), defs, "2XX"), failure]}
        body = _all(props["data"])
    return body


# --- key case ---------------------------------------------------------------------------------------


class _Keys:
    """Rewrites the property names of a schema, and its literal values, like the normaliser does."""

    def __init__(self, convert: Callable[[str], str], values: Rules) -> None:
        self.convert = convert
        self.values = values

    def schema(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("properties", "dependentSchemas") and isinstance(value, dict):
                out[key] = self._names(value)
            elif key == "required" and isinstance(value, list):
                out[key] = list(dict.fromkeys(self.convert(n) if isinstance(n, str) else n for n in value))
            elif key == "dependentRequired" and isinstance(value, dict):
                out[key] = {self.convert(n): [self.convert(x) for x in v] for n, v in value.items()}
            elif key in ("$defs", "patternProperties") and isinstance(value, dict):
                out[key] = {n: self.schema(s) for n, s in value.items()}
            elif (key in ONE or key == "items") and isinstance(value, dict | bool):
                out[key] = self.schema(value)
            elif key in MANY and isinstance(value, list):
                out[key] = [self.schema(s) for s in value]
            elif key == "const":
                out[key] = self.values.apply(value)
            elif key == "enum" and isinstance(value, list):
                seen: dict[str, Any] = {}
                for item in value:
                    item = self.values.apply(item)
                    seen.setdefault(json.dumps(item, sort_keys=True, default=str), item)
                out[key] = list(seen.values())
            else:
                out[key] = value
        return out

    def _names(self, table: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, sub in table.items():
            new, converted = self.convert(name), self.schema(sub)
            # Two names that normalise alike: the body keeps one value, which must satisfy both.
            out[new] = {"allOf": [out[new], converted]} if new in out else converted
        return out


# --- null equals missing ----------------------------------------------------------------------------


def _admits_null(schema: Any, defs: dict[str, Any], depth: int = 0) -> bool:
    if depth > _DEPTH:
        return False
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if (
        isinstance(ref, str)
        and ref.startswith("#/$defs/")
        and not _admits_null(defs.get(ref[8:]), defs, depth + 1)
    ):
        return False
    typ = schema.get("type")
    if typ is not None and "null" not in (typ if isinstance(typ, list) else [typ]):
        return False
    if "const" in schema and schema["const"] is not None:
        return False
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        return False
    if any(not _admits_null(s, defs, depth + 1) for s in schema.get("allOf") or ()):
        return False
    for name in ("anyOf", "oneOf"):
        if isinstance(schema.get(name), list) and not any(
            _admits_null(s, defs, depth + 1) for s in schema[name]
        ):
            return False
    return True


def _optional_nulls(node: Any, defs: dict[str, Any]) -> Any:
    """Required properties whose own schema accepts null become optional (nulls are dropped)."""
    if isinstance(node, list):
        return [_optional_nulls(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _optional_nulls(v, defs) if isinstance(v, dict | list) and k not in ("const", "enum") else v
        for k, v in node.items()
    }
    props, required = node.get("properties"), node.get("required")
    if isinstance(props, dict) and isinstance(required, list):
        out["required"] = [n for n in required if not (n in props and _admits_null(props[n], defs))]
    return out
