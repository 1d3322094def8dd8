"""Run configuration: dataclasses, and loading them from TOML.

Configuration comes from ``--config FILE``, else ``./paritycheck.toml``, else ``[tool.paritycheck]`` in
``./pyproject.toml``, else defaults. Loading is strict: an unknown key, a wrong type or a bad JSONPath is a
:class:`~paritycheck.errors.ConfigError` naming the key and the file. A new section is a dataclass here
plus a field on :class:`Config`; :func:`build` validates it from its type hints.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from paritycheck.errors import ConfigError

T = TypeVar("T")

DEFAULT_DB = Path("reports/paritycheck.db")


@dataclass(frozen=True, slots=True)
class Backend:
    """One backend: base URL (may carry a path prefix), headers sent instead of captured ones."""

    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reset: str | None = None


@dataclass(frozen=True, slots=True)
class Backends:
    legacy: Backend = field(default_factory=Backend)
    candidate: Backend = field(default_factory=Backend)
    legacy_secondary: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    concurrency: int = 16
    rate: float = 0.0
    timeout: float = 10.0
    allow_writes: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NormaliseConfig:
    key_case: str = "snake"
    envelope: str = "auto"
    timestamps: bool = True
    null_equals_missing: bool = False
    float_tolerance: float = 0.0
    ignore: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    compare_headers: tuple[str, ...] = ("content-type", "location", "cache-control")


@dataclass(frozen=True, slots=True)
class EndpointRule:
    """Per-endpoint rules, added to the global ``[normalise]`` ones."""

    match: str = ""
    ignore: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    backends: Backends = field(default_factory=Backends)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    normalise: NormaliseConfig = field(default_factory=NormaliseConfig)
    endpoint: tuple[EndpointRule, ...] = ()
    #: Where the configuration was read from (None: defaults only).
    source: str | None = None


_CHOICES: dict[str, tuple[str, ...]] = {
    "normalise.key_case": ("snake", "camel", "none"),
    "normalise.envelope": ("none", "auto"),
}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, *, where: str, source: str) -> str:
    """Replace ``${NAME}`` with the environment variable NAME; a missing one is a config error."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"{source}: {where} refers to ${{{name}}}, which is not set",
                hint=f"export {name}=... before running, or write the value in the file",
            )
        return os.environ[name]

    return _ENV_REF.sub(sub, value)


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
    return {str: "string", int: "integer", float: "number", bool: "true/false", type(None): "nothing"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(tp: Any, value: Any, *, key: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(arg, value, key=key, source=source)
            except ConfigError:
                continue
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        # A bare string for a Backend is its URL: `legacy = "http://..."`.
        if isinstance(value, str) and tp is Backend:
            return Backend(url=value)
        if isinstance(value, dict):
            return build(tp, value, prefix=key, source=source)
    elif origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if isinstance(value, list):
            return tuple(
                _coerce(item_tp, v, key=f"{key}[{i}]", source=source) for i, v in enumerate(value)
            )
    elif origin is dict:
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return {str(k): v for k, v in value.items()}
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


def build(cls: type[T], data: dict[str, Any], *, prefix: str = "", source: str = "configuration") -> T:
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{source}: unknown key {full!r}", hint=f"known keys here: {known}")
        coerced = _coerce(hints[key], value, key=full, source=source)
        choices = _CHOICES.get(full)
        if choices and coerced not in choices:
            raise ConfigError(
                f"{source}: {full} must be one of {', '.join(map(repr, choices))}, not {value!r}",
                hint=f"fix {full} in {source}",
            )
        kwargs[key] = coerced
    return cls(**kwargs)


def _validate(config: Config, source: str) -> Config:
    """Checks that span keys: JSONPaths compile, numbers are in range, env references resolve."""
    from paritycheck import jsonpath  # local: keeps config importable while jsonpath loads lazily

    def check_paths(paths: tuple[str, ...], key: str) -> None:
        for i, expr in enumerate(paths):
            try:
                jsonpath.parse(expr)
            except ValueError as exc:
                raise ConfigError(
                    f"{source}: {key}[{i}] is not a valid JSONPath {expr!r}: {exc}",
                    hint="supported: $ .name [n] [*] .. and ['quoted name']",
                ) from None

    check_paths(config.normalise.ignore, "normalise.ignore")
    check_paths(config.normalise.unordered, "normalise.unordered")
    for i, rule in enumerate(config.endpoint):
        if not rule.match.strip():
            raise ConfigError(f"{source}: endpoint[{i}].match is missing", hint='e.g. match = "GET /api/x/{id}"')
        check_paths(rule.ignore, f"endpoint[{i}].ignore")
        check_paths(rule.unordered, f"endpoint[{i}].unordered")
    r = config.replay
    if r.concurrency < 1:
        raise ConfigError(f"{source}: replay.concurrency must be at least 1", hint="e.g. concurrency = 16")
    if r.rate < 0:
        raise ConfigError(f"{source}: replay.rate must be 0 (unlimited) or more", hint="e.g. rate = 50")
    if r.timeout <= 0:
        raise ConfigError(f"{source}: replay.timeout must be more than 0 seconds", hint="e.g. timeout = 10")
    if config.normalise.float_tolerance < 0:
        raise ConfigError(f"{source}: normalise.float_tolerance must not be negative", hint="e.g. 1e-9")
    backends = config.backends
    for side in ("legacy", "candidate"):
        b: Backend = getattr(backends, side)
        headers = {
            k: expand_env(v, where=f"backends.{side}.headers.{k}", source=source) for k, v in b.headers.items()
        }
        backends = dataclasses.replace(backends, **{side: dataclasses.replace(b, headers=headers)})
    return dataclasses.replace(config, backends=backends)


def parse(data: dict[str, Any], *, source: str) -> Config:
    """Build and validate a :class:`Config` from a parsed TOML document."""
    config = build(Config, data, source=source)
    return _validate(dataclasses.replace(config, source=source), source)


def load(path: str | Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load the configuration from ``path``, else the default locations, else defaults."""
    cwd = cwd or Path.cwd()
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"config file {file} does not exist", hint="check the --config path")
        return parse(_read_toml(file), source=str(file))
    own = cwd / "paritycheck.toml"
    if own.is_file():
        return parse(_read_toml(own), source=str(own.relative_to(cwd)))
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("paritycheck")
        if isinstance(section, dict):
            return parse(section, source="pyproject.toml [tool.paritycheck]")
    return Config()


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}", hint="fix the syntax at the line named") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}", hint="check the file's permissions") from None
