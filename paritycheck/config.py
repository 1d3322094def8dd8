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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from paritycheck.common import tables
from paritycheck.common.tables import Json
from paritycheck.common.tomlfile import read_toml
from paritycheck.common.urls import backend_url_problem, shown_url
from paritycheck.errors import ConfigError
from paritycheck.models import GRADES

T = TypeVar("T")


DEFAULT_DB = Path("reports/paritycheck.db")


@dataclass(frozen=True, slots=True)
class Backend:
    """One backend: base URL (may carry a path prefix), headers sent instead of captured ones."""

    #: A bare string for a Backend is its URL: ``legacy = "http://..."``.
    __from_string__: ClassVar[str] = "url"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reset: str | None = None


@dataclass(frozen=True, slots=True)
class Backends:
    legacy: Backend = field(default_factory=Backend)
    candidate: Backend = field(default_factory=Backend)
    legacy_secondary: str | None = None


#: ``[replay] client``: the transports of paritycheck.replay (kept here so the config stays a leaf).
CLIENTS = ("http1", "aiohttp", "httpx")
#: Exchanges in flight at most: each holds a connection to each backend, and far below this bound the
#: process runs out of file descriptors (``ulimit -n``) or the backends out of capacity.
MAX_CONCURRENCY = 10_000


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    concurrency: int = 16
    rate: float = 0.0
    timeout: float = 10.0
    allow_writes: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: Bytes of a reply body kept for comparison; larger bodies are compared by size and SHA-256.
    max_body: int = 32 * 1024 * 1024
    #: The HTTP client that asks the backends: the lean HTTP/1.1 one, or aiohttp's or httpx's instead.
    client: str = "http1"
    #: Capture hosts replayed (globs on host or host:port; "*": all). Empty: chosen (capture/hosts.py).
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NormaliseConfig:
    key_case: str = "snake"
    envelope: str = "auto"
    timestamps: bool = True
    #: Seconds two instants read during the run may differ and count as one event (0: off; docs/noise.md).
    timestamps_tolerance: float = 5.0
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
    #: Streams (docs/streams.md): events compared as a multiset, and this endpoint's own read limits.
    unordered_events: bool = False
    max_events: int | None = None
    idle_seconds: float | None = None
    max_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class GateEndpointRule:
    """Gate criteria for the endpoints matching ``match``; an unset (None) criterion keeps ``[gate]``'s."""

    match: str = ""
    min_parity: float | None = None
    max_failed: float | None = None
    max_p95_ratio: float | None = None
    max_p95_ms: float | None = None
    min_samples: int | None = None


@dataclass(frozen=True, slots=True)
class GateConfig:
    """``[gate]``: the promotion criteria ``paritycheck gate`` checks (docs/gate.md)."""

    min_parity: float = 99.9
    max_failed: float = 0.1
    max_p95_ratio: float = 1.10
    max_p95_ms: float = 500.0
    min_samples: int = 30
    confidence: float = 0.95
    min_consecutive_passes: int = 0
    #: Findings graded breaking or worse (accepts-refused, server-error, breaking) allowed; -1: any.
    max_breaking: int = -1
    #: Findings allowed per grade (docs/gate.md): {grade: n}, -1 off; accepts-refused defaults to 0.
    max_findings: dict[str, int] = field(default_factory=dict)
    known_differences: str = "known-differences.toml"
    endpoint: tuple[GateEndpointRule, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """``[auth]``: a login run once per backend at start and again on a 401 (docs/sessions.md)."""

    #: Path of the login request; empty: no ``[auth]`` login.
    path: str = ""
    method: str = "POST"
    #: A table (nested tables, arrays, numbers and booleans included) is sent as a JSON object, a string
    #: as it is; ``${NAME}`` in any string reads the environment.
    body: dict[str, Json] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: Where the token is in the login answer: a JSONPath (raw, else normalised body) or ``header:<name>``.
    token: str = "$.access_token"
    #: The request header the token goes into, replacing the captured one, as ``<scheme> <token>``.
    header: str = "authorization"
    scheme: str = "Bearer"


@dataclass(frozen=True, slots=True)
class CorrelateRule:
    """``[[correlate]]``: a generated value to learn from the answers of ``match`` (docs/sessions.md)."""

    #: Endpoint pattern of the exchange whose answer generates the value, e.g. ``POST /api/projects``.
    match: str = "*"
    #: JSONPath into the (normalised) answer body, or ``header:<name>``.
    response: str = ""
    #: Label counted in the summary's correlations; defaults to the last name in ``response``.
    name: str = ""


@dataclass(frozen=True, slots=True)
class SessionsConfig:
    """``[sessions]``: how exchanges are grouped and ordered, and whether generated values are learned."""

    #: auto, none, page, authorization, or header:<name> / cookie:<name> / query:<name>.
    key: str = "auto"
    #: Learn generated values automatically (``[[correlate]]`` rules apply either way).
    correlate: bool = True
    #: Seconds a ``reset`` command of ``[backends.*]`` may take.
    reset_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class ContractConfig:
    """``[contract]``: how ``paritycheck contract`` and ``replay --contract`` check (docs/contract.md)."""

    #: Validate through the ``[normalise]`` rules (key case, envelope) instead of the raw wire format.
    normalised: bool = False


#: Response headers that change on every answer: noise whenever they are compared (docs/noise.md).
VOLATILE_HEADERS = (
    "date", "age", "etag", "expires", "last-modified", "set-cookie", "x-request-id", "request-id",
    "x-correlation-id", "correlation-id", "traceparent", "tracestate", "x-trace-id", "x-b3-traceid",
    "x-b3-spanid", "x-amzn-trace-id", "x-amz-request-id", "x-amz-id-2", "cf-ray", "x-runtime",
    "server-timing", "x-response-time", "x-served-by", "x-cache", "x-timer", "report-to", "nel",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NoiseConfig:
    """``[noise]``: A/A calibration (asking the legacy twice) and the thresholds (docs/noise.md)."""

    #: Exchanges per endpoint whose legacy answer is asked for a second time; 0 turns learning off.
    samples: int = 5
    #: Noise when raw rate <= noise rate upper bound * (1 + relative_threshold) + absolute_threshold.
    relative_threshold: float = 0.2
    absolute_threshold: float = 0.03
    #: Confidence of the Wilson upper bound put on the noise rate measured from few samples.
    confidence: float = 0.95
    volatile_headers: tuple[str, ...] = VOLATILE_HEADERS


@dataclass(frozen=True, slots=True)
class StreamsConfig:
    """``[streams]``: when the replay stops reading an SSE or WebSocket stream (docs/streams.md)."""

    #: Events read at most (the captured count, when the capture has one, stops earlier).
    max_events: int = 100
    #: Stop when no event arrives for this long.
    idle_seconds: float = 2.0
    #: Stop after this long whatever happens (a stream that never ends).
    max_seconds: float = 30.0
    #: One message larger than this fails the exchange, as a body over the transport's limit does.
    max_message_bytes: int = 1024 * 1024
    #: SignalR: consecutive invocations of one target with text arguments compare as one (chunks).
    coalesce: bool = True


@dataclass(frozen=True, slots=True)
class ExploreConfig:
    """``[explore]``: what ``paritycheck explore`` may generate, and its credentials (docs/explore.md)."""

    #: Generate POST, PUT, PATCH and DELETE requests. Their own opt-in: ``[replay] allow_writes`` does not.
    allow_writes: bool = False
    #: Per security scheme of the spec: the credential value, one string for both backends or a table
    #: ``{ legacy = "...", candidate = "..." }``; ``${NAME}`` reads the environment.
    credentials: dict[str, str | dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    backends: Backends = field(default_factory=Backends)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    normalise: NormaliseConfig = field(default_factory=NormaliseConfig)
    endpoint: tuple[EndpointRule, ...] = ()
    gate: GateConfig = field(default_factory=GateConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    correlate: tuple[CorrelateRule, ...] = ()
    sessions: SessionsConfig = field(default_factory=SessionsConfig)
    contract: ContractConfig = field(default_factory=ContractConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    streams: StreamsConfig = field(default_factory=StreamsConfig)
    explore: ExploreConfig = field(default_factory=ExploreConfig)
    #: Where the configuration was read from (None: defaults only).
    source: str | None = None


_CHOICES: dict[str, tuple[str, ...]] = {
    "normalise.key_case": ("snake", "camel", "none"),
    "normalise.envelope": ("none", "auto"),
}
# A table-valued key listed here may only have these keys.
_CHOICES["gate.max_findings"] = GRADES
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


def expand_env_json(value: Any, *, where: str, source: str) -> Any:
    """``value`` (a JSON-able TOML value) with ``${NAME}`` expanded in every string, keys excepted."""
    if isinstance(value, str):
        return expand_env(value, where=where, source=source)
    if isinstance(value, list):
        return [expand_env_json(v, where=f"{where}[{i}]", source=source) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: expand_env_json(v, where=f"{where}.{k}", source=source) for k, v in value.items()}
    return value


def build(cls: type[T], data: dict[str, Any], *, prefix: str = "", source: str = "configuration") -> T:
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    return tables.build(cls, data, prefix=prefix, source=source, choices=_CHOICES)


def _validate(config: Config, source: str) -> Config:
    """Checks that span keys: JSONPaths compile, numbers are in range, env references resolve."""
    from paritycheck.common import jsonpath  # local: keeps config importable while jsonpath loads lazily
    from paritycheck.common.endpoints import parse_pattern

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
    for key in ("max_events", "idle_seconds", "max_seconds", "max_message_bytes"):
        if getattr(config.streams, key) <= 0:
            raise ConfigError(f"{source}: streams.{key} must be more than 0", hint=f"fix streams.{key}")
    check_paths(config.normalise.unordered, "normalise.unordered")
    for i, rule in enumerate(config.endpoint):
        if not rule.match.strip():
            raise ConfigError(
                f"{source}: endpoint[{i}].match is missing", hint='e.g. match = "GET /api/x/{id}"'
            )
        parse_pattern(rule.match, what=f"{source}: endpoint[{i}].match")
        check_paths(rule.ignore, f"endpoint[{i}].ignore")
        check_paths(rule.unordered, f"endpoint[{i}].unordered")
    r = config.replay
    for key in ("include", "exclude"):
        for i, pattern in enumerate(getattr(r, key)):
            parse_pattern(pattern, what=f"{source}: replay.{key}[{i}]")
    for i, correlate in enumerate(config.correlate):
        if correlate.match.strip() != "*":
            parse_pattern(correlate.match, what=f"{source}: correlate[{i}].match")
    if not 1 <= r.concurrency <= MAX_CONCURRENCY:
        raise ConfigError(
            f"{source}: replay.concurrency must be between 1 and {MAX_CONCURRENCY:,}, not {r.concurrency:,}",
            hint="e.g. concurrency = 16",
        )
    if r.rate < 0:
        raise ConfigError(f"{source}: replay.rate must be 0 (unlimited) or more", hint="e.g. rate = 50")
    if r.max_body < 1024:
        raise ConfigError(
            f"{source}: replay.max_body must be at least 1024 bytes, not {r.max_body}",
            hint="e.g. max_body = 33554432 (32 MiB)",
        )
    if r.timeout <= 0:
        raise ConfigError(f"{source}: replay.timeout must be more than 0 seconds", hint="e.g. timeout = 10")
    if r.client not in CLIENTS:
        raise ConfigError(
            f"{source}: replay.client must be one of {', '.join(CLIENTS)}, not {r.client!r}",
            hint='leave it out for the default, client = "http1"',
        )
    if config.normalise.float_tolerance < 0:
        raise ConfigError(f"{source}: normalise.float_tolerance must not be negative", hint="e.g. 1e-9")
    _validate_gate(config.gate, source)
    _validate_noise(config.noise, source)
    for name, value in config.explore.credentials.items():
        if isinstance(value, dict) and set(value) != {"legacy", "candidate"}:
            raise ConfigError(
                f"{source}: explore.credentials.{name} must name legacy and candidate, not"
                f" {', '.join(sorted(value)) or 'nothing'}",
                hint=f'e.g. {name} = {{ legacy = "${{LEGACY_KEY}}", candidate = "${{CANDIDATE_KEY}}" }}',
            )

    def expanded(side: str) -> Backend:
        b: Backend = getattr(config.backends, side)
        problem = backend_url_problem(b.url)
        if problem:
            raise ConfigError(
                f"{source}: backends.{side} URL {shown_url(b.url)!r} {problem}",
                hint=f'fix backends.{side} in {source}, e.g. "http://127.0.0.1:8000"',
            )
        headers = {
            k: expand_env(v, where=f"backends.{side}.headers.{k}", source=source)
            for k, v in b.headers.items()
        }
        return dataclasses.replace(b, headers=headers)

    backends = dataclasses.replace(
        config.backends, legacy=expanded("legacy"), candidate=expanded("candidate")
    )
    return dataclasses.replace(config, backends=backends)


def _validate_noise(noise: NoiseConfig, source: str) -> None:
    """Ranges of ``[noise]``."""
    if noise.samples < 0:
        raise ConfigError(f"{source}: noise.samples must be 0 (off) or more", hint="e.g. samples = 5")
    for key in ("relative_threshold", "absolute_threshold"):
        if getattr(noise, key) < 0:
            raise ConfigError(f"{source}: noise.{key} must not be negative", hint=f"fix noise.{key}")
    if not 0.5 <= noise.confidence < 1:
        raise ConfigError(
            f"{source}: noise.confidence must be at least 0.5 and less than 1", hint="e.g. confidence = 0.95"
        )


def _validate_gate(gate: GateConfig, source: str) -> None:
    """Ranges of the ``[gate]`` criteria, and a valid pattern in each ``[[gate.endpoint]]``."""
    from paritycheck.common.endpoints import parse_pattern  # local, like jsonpath above

    def check(key: str, value: float | None, low: float, high: float | None, example: str) -> None:
        if value is not None and (value < low or (high is not None and value > high)):
            span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise ConfigError(f"{source}: {key} must be {span}, not {value:g}", hint=f"e.g. {example}")

    rules: list[tuple[str, GateConfig | GateEndpointRule]] = [("gate", gate)]
    rules += [(f"gate.endpoint[{i}]", rule) for i, rule in enumerate(gate.endpoint)]
    for key, r in rules:
        check(f"{key}.min_parity", r.min_parity, 0, 100, "min_parity = 99.9")
        check(f"{key}.max_failed", r.max_failed, 0, 100, "max_failed = 0.1")
        check(f"{key}.max_p95_ratio", r.max_p95_ratio, 0, None, "max_p95_ratio = 1.10")
        check(f"{key}.max_p95_ms", r.max_p95_ms, 0, None, "max_p95_ms = 500")
        check(f"{key}.min_samples", r.min_samples, 1, None, "min_samples = 30")
    if not 0.5 <= gate.confidence < 1:
        raise ConfigError(
            f"{source}: gate.confidence must be at least 0.5 and less than 1, not {gate.confidence:g}",
            hint="e.g. confidence = 0.95",
        )
    check("gate.min_consecutive_passes", gate.min_consecutive_passes, 0, None, "min_consecutive_passes = 3")
    check("gate.max_breaking", gate.max_breaking, -1, None, "max_breaking = 0")
    for grade, limit in gate.max_findings.items():
        check(f"gate.max_findings.{grade}", limit, -1, None, f"max_findings = {{ {grade} = 0 }}")
    if not gate.known_differences.strip():
        raise ConfigError(
            f"{source}: gate.known_differences must name a file",
            hint='e.g. known_differences = "known-differences.toml"',
        )
    for i, rule in enumerate(gate.endpoint):
        if not rule.match.strip():
            raise ConfigError(
                f"{source}: gate.endpoint[{i}].match is missing", hint='e.g. match = "* /api/v1/auth/*"'
            )
        parse_pattern(rule.match, what=f"{source}: gate.endpoint[{i}].match")


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
        return parse(read_toml(file), source=str(file))
    own = cwd / "paritycheck.toml"
    if own.is_file():
        return parse(read_toml(own), source=str(own.relative_to(cwd)))
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        section = read_toml(pyproject).get("tool", {}).get("paritycheck")
        if isinstance(section, dict):
            return parse(section, source="pyproject.toml [tool.paritycheck]")
    return Config()
