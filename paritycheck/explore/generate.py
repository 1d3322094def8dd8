"""Generate requests from an OpenAPI description with Schemathesis, labelled by what each one probes.

Schemathesis does the generating; this module only chooses and labels. Per operation:

- **valid** examples: Schemathesis's coverage phase (default, boundary and example values, which are
  deterministic), then, when that gives fewer than ``max_examples``, property-based draws seeded with
  ``seed`` (Hypothesis ``@seed``), so a run is reproducible;
- **invalid** examples from the coverage phase's negative scenarios, up to ``max_examples`` of each class
  this module cares about: ``missing-required``, ``wrong-type``, ``out-of-range`` and ``other-invalid``;
- ``no-credentials``: the first valid example of a secured operation with its credentials removed;
- ``malformed-body``: the first valid JSON body cut in half.

Requests go to the path the spec's ``servers`` give (``/api/v2`` + ``/users``), as the contract check
matches them. Examples of secured operations carry a placeholder credential where the spec's security
scheme puts it (explore/security.py), which the replay fills with each backend's own value; the
``no-credentials`` examples carry none, so they stay unauthenticated on both sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from paritycheck.contract.match import server_base
from paritycheck.errors import SpecError
from paritycheck.explore.security import COOKIE, HEADER, QUERY, Security, security_of
from paritycheck.models import SAFE_METHODS

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


def operation_path(raw: dict[str, Any], method: str, path: str) -> str:
    """The full path template of an operation: its ``servers`` base path (or the spec's) + ``path``.

    As the contract check names operations (contract/check.py), so labels, requests and the checks agree.
    """
    if str(raw.get("swagger", "")).startswith("2"):
        base_path = raw.get("basePath")
        base = "/" + base_path.strip("/") if isinstance(base_path, str) and base_path.strip("/") else ""
    else:
        item = (raw.get("paths") or {}).get(path)
        item = item if isinstance(item, dict) else {}
        op = item.get(method.lower())
        op = op if isinstance(op, dict) else {}
        base = server_base(op.get("servers"), item.get("servers"), raw.get("servers"))
    return base + path if path != "/" else base or "/"


def label(op: Any) -> str:
    """``GET /api/v1/kpis/{kpi_id}``: the operation's method and full path template."""
    return f"{op.method.upper()} {operation_path(op.schema.raw_schema, op.method, op.path)}"


def base_of(op: Any) -> str:
    """What goes before the operation's formatted path on the wire (``/api/v2``)."""
    full = operation_path(op.schema.raw_schema, op.method, op.path)
    return full[: len(full) - len(op.path)] if full.endswith(op.path) and op.path != "/" else full.rstrip("/")


def security(op: Any, usable: frozenset[str] | None) -> Security:
    """The credentials of operation ``op`` (explore/security.py)."""
    raw = op.definition.raw if isinstance(getattr(op.definition, "raw", None), dict) else {}
    return security_of(op.schema.raw_schema, raw, usable=usable)


def generate(
    schema: Any,
    *,
    targets: Sequence[str] | None,
    seed: int,
    max_examples: int,
    allow_writes: bool,
    time_limit: float | None = None,
    on_operation: Callable[[str, int, int], None] | None = None,
    usable: frozenset[str] | None = None,
    kinds: Mapping[str, frozenset[str]] | None = None,
) -> Plan:
    """Generate up to ``max_examples`` valid requests per target operation, and as many of each invalid kind.

    ``targets`` are operation labels to cover (None: every operation). Unsafe methods are generated only
    with ``allow_writes``. ``time_limit`` (seconds) stops generation after the operation under way.
    ``on_operation(name, done, total)`` is called after each target operation, for a progress bar.
    ``usable`` names the security schemes a credential is configured for (None: any; explore/security.py).
    ``kinds`` limits an operation's probes to those kinds (operations missing from it get every kind).
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
            cases = schema.iter_coverage_cases(
                op,
                generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                generation_config=config,
            )
            allowed = None if kinds is None else kinds.get(name)
            made = _for_operation(
                op, name, cases, seed=seed, max_examples=max_examples, usable=usable, kinds=allowed
            )
            if made:
                chosen.append(name)
                requests.extend(made)
            else:
                skipped[name] = "no request could be built from its description"
        if on_operation is not None:
            on_operation(name, done, len(wanted))
    return Plan(tuple(requests), tuple(chosen), skipped, timed_out)


def _for_operation(
    op: Any,
    name: str,
    cases: Iterator[Any],
    *,
    seed: int,
    max_examples: int,
    usable: frozenset[str] | None = None,
    kinds: frozenset[str] | None = None,
) -> list[Generated]:
    guard = security(op, usable)
    base = base_of(op)
    valid: list[Generated] = []
    invalid: dict[str, list[Generated]] = {kind: [] for kind in INVALID_KINDS}
    unauthenticated: list[Generated] = []
    seen: set[tuple[Any, ...]] = set()
    for case in itertools.islice(cases, 2000):  # coverage cases are finite; bound them all the same
        scenario = _scenario(case)
        if scenario in _SKIPPED_SCENARIOS or case.method.upper() != op.method.upper():
            continue
        kind = VALID if _is_positive(case) else _SCENARIO_KIND.get(scenario or "", OTHER)
        if kind == MISSING and _drops_credentials(case, guard):
            kind = NO_CREDENTIALS
        request = case_request(name, kind, _describe(case), case, security=guard, base=base)
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
        valid.extend(
            _drawn(op, name, seed=seed, count=max_examples - len(valid), security=guard, base=base, seen=seen)
        )
    out = valid[:max_examples]
    for kind in INVALID_KINDS:
        out.extend(invalid[kind][:max_examples])
    if out and valid:
        first = valid[0]
        if unauthenticated:
            out.append(unauthenticated[0])
        elif guard.secured:
            out.append(
                _replace(first, NO_CREDENTIALS, "no credentials", **_without_credentials(first, guard))
            )
        json_body = next((g for g in valid if g.body and g.body[:1] in (b"{", b"[")), None)
        if json_body is not None and json_body.body is not None:
            cut = json_body.body[: max(1, len(json_body.body) // 2)]
            out.append(_replace(json_body, MALFORMED_BODY, "JSON body cut in half", body=cut))
    return out if kinds is None else [r for r in out if r.kind in kinds]


def _drawn(
    op: Any, name: str, *, seed: int, count: int, security: Security, base: str, seen: set[tuple[Any, ...]]
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
        request = case_request(name, VALID, "property-based example", case, security=security, base=base)
        if request is not None and _identity(request) not in seen:
            seen.add(_identity(request))
            drawn.append(request)

    with contextlib.suppress(Exception):  # an unsatisfiable schema: keep what was drawn
        collect()
    return drawn


def case_request(
    name: str, kind: str, description: str, case: Any, *, security: Security, base: str = ""
) -> Generated | None:
    """A :class:`Generated` from a Schemathesis case; None for one that cannot go on the wire as is.

    ``base`` (the servers' base path) goes before the case's path. Whatever Schemathesis put where the
    operation's credentials go is replaced by the placeholders of the chosen requirement (none for a
    ``no-credentials`` probe).
    """
    try:
        headers = [
            (str(k), _text(v))
            for k, v in (case.headers or {}).items()
            if not security.is_credential(HEADER, str(k)) and str(k).lower() != "cookie"
        ]
        query_pairs = [
            (k, _text(v)) for k, v in _pairs(case.query or {}) if not security.is_credential(QUERY, k)
        ]
        cookies = [
            (k, _text(v)) for k, v in _pairs(case.cookies or {}) if not security.is_credential(COOKIE, k)
        ]
        if kind != NO_CREDENTIALS:
            for scheme in security.chosen:
                if scheme.location == HEADER:
                    headers.append(("Authorization" if scheme.field == "authorization" else scheme.field,
                                    scheme.value()))  # fmt: skip
                elif scheme.location == QUERY:
                    query_pairs.append((scheme.field, scheme.value()))
                else:
                    cookies.append((scheme.field, scheme.value()))
        if cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
        body = _body(case)
        if body is not None and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", case.media_type or "application/json"))
        query = urlencode(query_pairs, doseq=False)
        path = base + case.formatted_path if case.formatted_path != "/" or not base else base
        path.encode("utf-8")
        for k, v in headers:
            (k + v).encode("latin-1")
    except (UnicodeError, TypeError, ValueError):
        return None
    return Generated(name, kind, description, case.method.upper(), path, query, tuple(headers), body)


def _without_credentials(request: Generated, security: Security) -> dict[str, Any]:
    """``request``'s headers and query without any credential of ``security`` (a no-credentials probe)."""
    headers = []
    for k, v in request.headers:
        if security.is_credential(HEADER, k):
            continue
        if k.lower() == "cookie":
            kept = [p for p in v.split("; ") if not security.is_credential(COOKIE, p.partition("=")[0])]
            if not kept:
                continue
            v = "; ".join(kept)
        headers.append((k, v))
    pairs = [
        p for p in request.query.split("&") if p and not security.is_credential(QUERY, p.partition("=")[0])
    ]
    return {"headers": tuple(headers), "query": "&".join(pairs)}


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


def _drops_credentials(case: Any, security: Security) -> bool:
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    parameter = str(getattr(data, "parameter", "") or "")
    location = str(getattr(getattr(data, "parameter_location", None), "value", "") or "")
    if parameter.lower() in ("authorization", "cookie", "proxy-authorization"):
        return True
    return any(
        security.is_credential(where, parameter)
        for where in ((location,) if location else (HEADER, QUERY, COOKIE))
    )


def _is_positive(case: Any) -> bool:
    generation = getattr(case.meta, "generation", None)
    return getattr(getattr(generation, "mode", None), "value", "positive") == "positive"


def _identity(request: Generated) -> tuple[Any, ...]:
    return (request.kind, request.method, request.path, request.query, request.headers, request.body)


def _replace(base: Generated, kind: str, description: str, **changes: Any) -> Generated:
    return dataclasses.replace(base, kind=kind, description=description, **changes)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
