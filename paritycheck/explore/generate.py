"""Generate requests from an OpenAPI description with Schemathesis, labelled by what each one probes.

Schemathesis does the generating; this module only chooses and labels. Per operation:

- **valid** examples: Schemathesis's coverage phase (default, boundary and example values, which are
  deterministic), then, when that gives fewer than ``max_examples``, property-based draws seeded with
  ``seed`` (Hypothesis ``@seed``), so a run is reproducible;
- **invalid** examples from the coverage phase's negative scenarios, up to ``max_examples`` of each class
  this module cares about: ``missing-required``, ``wrong-type``, ``out-of-range`` and ``other-invalid``;
- ``no-credentials``: the first valid example of a secured operation with its credentials removed;
- ``malformed-body``: the first valid JSON body cut in half.

Valid examples of secured operations carry ``Authorization: Bearer paritycheck-explore``, which the
replay's ``[auth]`` login replaces with each backend's own token (docs/sessions.md); the
``no-credentials`` examples carry none, so they stay unauthenticated on both sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from paritycheck.errors import SpecError
from paritycheck.models import SAFE_METHODS

#: The placeholder credential that ``[auth]`` replaces per backend.
PLACEHOLDER_TOKEN = "Bearer paritycheck-explore"
VALID, NO_CREDENTIALS, MALFORMED_BODY = "valid", "no-credentials", "malformed-body"
MISSING, WRONG_TYPE, OUT_OF_RANGE, OTHER = "missing-required", "wrong-type", "out-of-range", "other-invalid"
INVALID_KINDS = (MISSING, WRONG_TYPE, OUT_OF_RANGE, OTHER)
KINDS = (VALID, *INVALID_KINDS, NO_CREDENTIALS, MALFORMED_BODY)

_SCENARIO_KIND = {
    "object_missing_required_property": MISSING,
    "missing_parameter": MISSING,
    "incorrect_type": WRONG_TYPE,
    "invalid_format": WRONG_TYPE,
    "invalid_pattern": WRONG_TYPE,
    "value_above_maximum": OUT_OF_RANGE,
    "value_below_minimum": OUT_OF_RANGE,
    "string_above_max_length": OUT_OF_RANGE,
    "string_below_min_length": OUT_OF_RANGE,
    "array_above_max_items": OUT_OF_RANGE,
    "array_below_min_items": OUT_OF_RANGE,
    "object_above_max_properties": OUT_OF_RANGE,
    "object_below_min_properties": OUT_OF_RANGE,
    "invalid_enum_value": OUT_OF_RANGE,
    "not_multiple_of": OUT_OF_RANGE,
}
#: Scenarios that probe something other than the operation itself (another method, path shapes).
_SKIPPED_SCENARIOS = frozenset({"unspecified_http_method", "unsupported_path_pattern"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True, slots=True)
class Generated:
    """One generated request: which operation, what it probes (``kind``) and why (``description``)."""

    operation: str
    kind: str
    description: str
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    #: A recorded answer (status, JSON body) for session correlation: the source of an OpenAPI link.
    recorded: tuple[int, bytes] | None = None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True, slots=True)
class Plan:
    """What generation produced, and the operations it left out (``skipped``: operation -> why)."""

    requests: tuple[Generated, ...]
    operations: tuple[str, ...]
    skipped: dict[str, str]
    timed_out: bool = False


def load_schema(spec: Path) -> Any:
    """The Schemathesis view of ``spec``; a spec it cannot read is a :class:`SpecError`."""
    try:
        from schemathesis import openapi
    except ImportError:  # pragma: no cover - the explore extra is part of the dev install
        raise SpecError(
            "generating requests needs Schemathesis, which is not installed",
            hint="pip install 'paritycheck[explore]'",
        ) from None
    try:
        return openapi.from_path(str(spec))
    except Exception as exc:
        raise SpecError(
            f"{spec}: Schemathesis cannot load it: {_one_line(exc)}",
            hint="check the file with `paritycheck contract SPEC`",
        ) from None


def operations(schema: Any) -> list[Any]:
    """The schema's operations that could be built, in the spec's order."""
    found = []
    for result in schema.get_all_operations():
        try:
            found.append(result.ok())
        except Exception:  # an operation Schemathesis cannot build is reported by `contract`
            continue
    return found


def label(op: Any) -> str:
    """``GET /api/v1/kpis/{kpi_id}``: the operation's method and full path template."""
    return f"{op.method.upper()} {op.full_path}"


def generate(
    schema: Any,
    *,
    targets: Sequence[str] | None,
    seed: int,
    max_examples: int,
    allow_writes: bool,
    time_limit: float | None = None,
    on_operation: Callable[[str, int, int], None] | None = None,
) -> Plan:
    """Generate up to ``max_examples`` valid requests per target operation, and as many of each invalid kind.

    ``targets`` are operation labels to cover (None: every operation). Unsafe methods are generated only
    with ``allow_writes``. ``time_limit`` (seconds) stops generation after the operation under way.
    ``on_operation(name, done, total)`` is called after each target operation, for a progress bar.
    """
    from schemathesis import GenerationMode
    from schemathesis.config import GenerationConfig

    config = GenerationConfig(allow_x00=False, codec="utf-8", exclude_header_characters="\r\n")
    deadline = None if time_limit is None else time.monotonic() + time_limit
    requests: list[Generated] = []
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    timed_out = False
    wanted = [op for op in operations(schema) if targets is None or label(op) in targets]
    for done, op in enumerate(wanted, 1):
        name = label(op)
        if op.method.upper() not in SAFE_METHODS and not allow_writes:
            skipped[name] = "unsafe method (pass --allow-writes to generate writes)"
        elif deadline is not None and time.monotonic() > deadline:
            skipped[name] = "time limit reached"
            timed_out = True
        else:
            chosen.append(name)
            cases = schema.iter_coverage_cases(
                op,
                generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                generation_config=config,
            )
            requests.extend(_for_operation(op, name, cases, seed=seed, max_examples=max_examples))
        if on_operation is not None:
            on_operation(name, done, len(wanted))
    return Plan(tuple(requests), tuple(chosen), skipped, timed_out)


def _for_operation(
    op: Any, name: str, cases: Iterator[Any], *, seed: int, max_examples: int
) -> list[Generated]:
    secured = _is_secured(op)
    valid: list[Generated] = []
    invalid: dict[str, list[Generated]] = {kind: [] for kind in INVALID_KINDS}
    unauthenticated: list[Generated] = []
    seen: set[tuple[Any, ...]] = set()
    for case in itertools.islice(cases, 2000):  # coverage cases are finite; bound them all the same
        scenario = _scenario(case)
        if scenario in _SKIPPED_SCENARIOS or case.method.upper() != op.method.upper():
            continue
        kind = VALID if _is_positive(case) else _SCENARIO_KIND.get(scenario or "", OTHER)
        if kind == MISSING and _drops_credentials(case):
            kind = NO_CREDENTIALS
        request = case_request(name, kind, _describe(case), case, secured=secured)
        if request is None or _identity(request) in seen:
            continue
        seen.add(_identity(request))
        if kind == VALID:
            valid.append(request)
        elif kind == NO_CREDENTIALS:
            unauthenticated.append(request)
        else:
            invalid[kind].append(request)
    if len(valid) < max_examples:
        valid.extend(_drawn(op, name, seed=seed, count=max_examples - len(valid), secured=secured, seen=seen))
    out = valid[:max_examples]
    for kind in INVALID_KINDS:
        out.extend(invalid[kind][:max_examples])
    if out and valid:
        first = valid[0]
        if unauthenticated:
            out.append(unauthenticated[0])
        elif secured:
            headers = tuple((k, v) for k, v in first.headers if k.lower() not in _CREDENTIAL_HEADERS)
            out.append(_replace(first, NO_CREDENTIALS, "no credentials", headers=headers))
        json_body = next((g for g in valid if g.body and g.body[:1] in (b"{", b"[")), None)
        if json_body is not None and json_body.body is not None:
            cut = json_body.body[: max(1, len(json_body.body) // 2)]
            out.append(_replace(json_body, MALFORMED_BODY, "JSON body cut in half", body=cut))
    return out


def _drawn(
    op: Any, name: str, *, seed: int, count: int, secured: bool, seen: set[tuple[Any, ...]]
) -> list[Generated]:
    """``count`` more valid examples from Hypothesis, reproducible under ``seed``."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis import GenerationMode

    drawn: list[Generated] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count * 3,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(op.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def collect(case: Any) -> None:
        if len(drawn) >= count:
            return
        request = case_request(name, VALID, "property-based example", case, secured=secured)
        if request is not None and _identity(request) not in seen:
            seen.add(_identity(request))
            drawn.append(request)

    with contextlib.suppress(Exception):  # an unsatisfiable schema: keep what was drawn
        collect()
    return drawn


def case_request(name: str, kind: str, description: str, case: Any, *, secured: bool) -> Generated | None:
    """A :class:`Generated` from a Schemathesis case; None for one that cannot go on the wire as is."""
    try:
        headers = [(str(k), _text(v)) for k, v in (case.headers or {}).items()]
        has_token = any(k.lower() == "authorization" for k, _ in headers)
        if kind != NO_CREDENTIALS and (has_token or (secured and kind == VALID)):
            # [auth] replaces this with each backend's own token (docs/sessions.md)
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            headers.append(("Authorization", PLACEHOLDER_TOKEN))
        body = _body(case)
        if body is not None and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", case.media_type or "application/json"))
        query = urlencode([(k, _text(v)) for k, v in _pairs(case.query or {})], doseq=False)
        path = case.formatted_path
        path.encode("utf-8")
        for k, v in headers:
            (k + v).encode("latin-1")
    except (UnicodeError, TypeError, ValueError):
        return None
    return Generated(name, kind, description, case.method.upper(), path, query, tuple(headers), body)


def _body(case: Any) -> bytes | None:
    from schemathesis.core import NotSet

    if isinstance(case.body, NotSet):
        return None
    media = (case.media_type or "application/json").lower()
    if isinstance(case.body, bytes):
        return case.body
    if "json" in media:
        return json.dumps(case.body, ensure_ascii=True, separators=(",", ":")).encode()
    if media.startswith("application/x-www-form-urlencoded") and isinstance(case.body, dict):
        return urlencode([(k, _text(v)) for k, v in _pairs(case.body)]).encode()
    if isinstance(case.body, str):
        return case.body.encode("utf-8")
    raise ValueError(f"body of media type {media} is not generated")


def _pairs(mapping: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        for item in value if isinstance(value, list) else [value]:
            yield str(key), item


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return value if isinstance(value, str) else json.dumps(value)


def _scenario(case: Any) -> str | None:
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    scenario = getattr(data, "scenario", None)
    return None if scenario is None else str(getattr(scenario, "value", scenario))


def _describe(case: Any) -> str:
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    text = getattr(data, "description", None) or "generated example"
    parameter = getattr(data, "parameter", None)
    location = getattr(data, "parameter_location", None)
    if parameter and parameter not in text:
        where = getattr(location, "value", location)
        text = f"{text} ({where} {parameter})" if where else f"{text} ({parameter})"
    return str(text)


def _drops_credentials(case: Any) -> bool:
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    parameter = str(getattr(data, "parameter", "") or "")
    return parameter.lower() in _CREDENTIAL_HEADERS


def _is_positive(case: Any) -> bool:
    generation = getattr(case.meta, "generation", None)
    return getattr(getattr(generation, "mode", None), "value", "positive") == "positive"


def _is_secured(op: Any) -> bool:
    security = op.definition.raw.get("security") if hasattr(op.definition, "raw") else None
    if security is None:
        security = op.schema.raw_schema.get("security")
    return bool(security) and any(bool(requirement) for requirement in security)


def _identity(request: Generated) -> tuple[Any, ...]:
    return (request.kind, request.method, request.path, request.query, request.headers, request.body)


def _replace(base: Generated, kind: str, description: str, **changes: Any) -> Generated:
    return dataclasses.replace(base, kind=kind, description=description, **changes)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
