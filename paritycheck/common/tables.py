"""Dataclasses built from TOML tables, strictly: an unknown key or a wrong type names the key and the file.

The configuration's sections are frozen dataclasses (paritycheck/config.py); :func:`build` checks a
table against one from its type hints: strings, numbers, booleans, lists (tuples), tables of a declared
value type, unions, nested dataclasses, and :class:`Json` for any value JSON can hold.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from paritycheck.errors import ConfigError

__all__ = ["Choices", "Json", "build"]

T = TypeVar("T")
#: Full key (``normalise.key_case``) -> the values it may take (for a table: the keys it may have).
Choices = Mapping[str, tuple[str, ...]]


class Json:
    """Type marker: any TOML value that JSON can hold (tables, arrays, strings, numbers, booleans)."""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "table"
    if dataclasses.is_dataclass(tp):
        return "table"
    if tp is Json:
        return "a string, number, true/false, array or table"
    return {str: "string", int: "integer", float: "number", bool: "true/false", type(None): "nothing"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(tp: Any, value: Any, *, key: str, source: str, choices: Choices) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(arg, value, key=key, source=source, choices=choices)
            except ConfigError:
                continue
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        field_name = getattr(tp, "__from_string__", None)  # a bare string stands for that one field
        if isinstance(value, str) and field_name is not None:
            return tp(**{field_name: value})
        if isinstance(value, dict):
            return build(tp, value, prefix=key, source=source, choices=choices)
    elif origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if isinstance(value, list):
            return tuple(
                _coerce(item_tp, v, key=f"{key}[{i}]", source=source, choices=choices)
                for i, v in enumerate(value)
            )
    elif origin is dict:
        if isinstance(value, dict):
            item_tp = typing.get_args(tp)[1]
            return {
                str(k): _coerce(item_tp, v, key=f"{key}.{k}", source=source, choices=choices)
                for k, v in value.items()
            }
    elif tp is Json:
        if _is_json(value):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(
        f"{source}: {key} must be {_type_name(tp)}, not {value!r}",
        hint=f"fix {key} in {source}",
    )


def _is_json(value: Any) -> bool:
    if isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False  # TOML dates and times: JSON has none (write them as strings)


def build(
    cls: type[T],
    data: dict[str, Any],
    *,
    prefix: str = "",
    source: str = "configuration",
    choices: Choices | None = None,
) -> T:
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    assert dataclasses.is_dataclass(cls)
    choices = choices or {}
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{source}: unknown key {full!r}", hint=f"known keys here: {known}")
        coerced = _coerce(hints[key], value, key=full, source=source, choices=choices)
        allowed = choices.get(full)
        if allowed and isinstance(coerced, dict):  # a table of its own keys: these keys only
            if unknown := sorted(set(coerced) - set(allowed)):
                raise ConfigError(
                    f"{source}: {full} has no {unknown[0]!r}", hint=f"known: {', '.join(allowed)}"
                )
        elif allowed and coerced not in allowed:
            raise ConfigError(
                f"{source}: {full} must be one of {', '.join(map(repr, allowed))}, not {value!r}",
                hint=f"fix {full} in {source}",
            )
        kwargs[key] = coerced
    return cls(**kwargs)
