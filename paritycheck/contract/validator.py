"""The one place that knows which JSON Schema library validates bodies (jsonschema-rs).

jsonschema-rs validates a 1 KB body in ~10 us against ~1 ms for jsonschema with a prebuilt validator
(bench/contract.py); swapping libraries means changing :func:`compile_schema` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from paritycheck.contract.schema import DISCRIMINATOR, WRITE_ONLY


@dataclass(frozen=True, slots=True)
class Failure:
    """One schema failure: where in the instance, which keyword, a message, the offending value."""

    path: str
    keyword: str
    message: str
    value: Any
    key: str | None = None


#: A compiled check: returns no failures for a conforming instance.
Check = Callable[[Any], list[Failure]]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_MESSAGE = 300


def jsonpath(parts: Any, root: str = "$") -> str:
    """``['data', 'items', 0, 'id']`` -> ``$.data.items[0].id``."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def compile_schema(schema: Any) -> Check:
    """Compile a JSON Schema 2020-12 document once; raises ValueError when the schema is invalid.

    jsonschema-rs refuses some valid schemas (its regex engine rejects ``^.{0,262144}$``, in Adyen's
    spec); such a schema falls back to the slower ``jsonschema`` library, which decides validity.
    """
    try:
        validator = jsonschema_rs.validator_for(schema, validate_formats=True, ignore_unknown_formats=True)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        return _fallback(schema, str(exc).split("\n", 1)[0])

    def check(instance: Any) -> list[Failure]:
        if validator.is_valid(instance):
            return []
        return [_failure(schema, err) for err in validator.iter_errors(instance)]

    return check


def invalid_schema_check(problem: str) -> Check:
    """A check for a schema that cannot be compiled: every instance gets one "schema invalid" failure,
    so only the operations using that schema are unusable, and each says why."""
    failure = Failure("$", "schema", f"schema invalid: {problem}", None)
    return lambda _instance: [failure]


def _fallback(schema: Any, rs_problem: str) -> Check:
    """A check by the ``jsonschema`` library; ValueError when that library also finds it invalid."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import Draft202012Validator, validator_for

    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    except (SchemaError, ValueError) as exc:
        message = exc.message if isinstance(exc, SchemaError) else str(exc)
        raise ValueError(message.split("\n", 1)[0] or rs_problem) from None

    def check(instance: Any) -> list[Failure]:
        failures = []
        named: dict[tuple[int, tuple[Any, ...]], int] = {}  # required errors seen per (object, keyword)
        for err in validator.iter_errors(instance):
            parts = list(err.absolute_path)
            key = next((p for p in reversed(parts) if isinstance(p, str)), None)
            value = err.instance
            if err.validator == "required":
                # One error per missing property, in the keyword's order: name each one its own.
                where = (id(err.instance), tuple(err.absolute_schema_path))
                nth = named[where] = named.get(where, -1) + 1
                parts, value = [*parts, _missing(err, nth)], None
            failures.append(Failure(jsonpath(parts), str(err.validator), err.message, value, key))
        return failures

    return check


def _missing(err: Any, nth: int) -> str:
    """The property a ``required`` error of the ``jsonschema`` library is about.

    Its message is ``'beta' is a required property``; where that cannot be read, the ``nth`` property of
    the keyword's list that the instance lacks (the library reports them in that order).
    """
    absent = [
        str(p) for p in err.validator_value if not isinstance(err.instance, dict) or p not in err.instance
    ]
    for name in absent:
        if str(err.message).startswith(f"{name!r} is a required property"):
            return name
    return absent[nth] if nth < len(absent) else (absent[-1] if absent else "?")


def _failure(schema: Any, err: Any) -> Failure:
    schema_path = list(err.schema_path)
    keyword = next((p for p in reversed(schema_path) if isinstance(p, str)), "schema")
    node: Any = schema
    for part in schema_path[:-1]:
        node = node[part] if isinstance(node, dict | list) else None
    comment = node.get("$comment") if isinstance(node, dict) else None
    kind = type(err.kind).__name__
    instance_path = list(err.instance_path)
    message = str(err.message)
    if comment in (WRITE_ONLY, DISCRIMINATOR):
        keyword = comment
        if comment == WRITE_ONLY:
            message = f"writeOnly property {instance_path[-1]!r} must not appear in a response"
    elif kind == "FalseSchema":
        keyword = "false"
    value = err.instance
    key = next((p for p in reversed(instance_path) if isinstance(p, str)), None)
    if kind == "Required":
        # Point at the missing property; the value is absent, not the whole enclosing object.
        instance_path.append(str(err.kind.property))
        value = None
    return Failure(jsonpath(instance_path), keyword, message, value, key)


def shorten(message: str, value: Any, shown: Any, *, keyword: str) -> str:
    """Replace the raw value in a validator message by its redacted form and bound the length."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if shown != value or len(raw) > 80:
        text = json.dumps(shown, ensure_ascii=False, default=str)
        text = text if len(text) <= 80 else text[:77] + "..."
        if raw in message:
            message = message.replace(raw, text)
        elif shown != value:
            # The message quotes the value in a form we cannot find: never let a secret through.
            message = f"value {text} fails {keyword!r}"
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
