"""Accepted differences (``known-differences.toml``): shown by the gate, not failing it until they expire.

::

    [[accepted]]
    endpoint = "GET /api/v1/users/{id}"      # endpoint pattern, as in [[endpoint]] rules
    kind = "changed"                         # a difference kind, or "*"
    path = "$.data.items[*].price"           # exact, or a JSONPath with [*], .* or ..; "header:x-*"
    reason = "candidate rounds to cents; PORT-123"
    owner = "alice@example.com"
    until = 2025-09-30                       # accepted through this day; expired the day after

    [[accepted]]
    finding = "type null→string"             # a finding's signature (paritycheck.findings): all of it
    endpoint = "GET /api/v1/**"              # optional: only on these endpoints
    reason = "the port sends empty strings; PORT-140"
    owner = "alice@example.com"
    until = 2025-09-30

A path may be written as the wire has it (``$.data.items[*].unitPrice``, as reports print it) or as the
normalised difference path (``$.items[*].unit_price``): an entry matches a group by its normalised path
or by either side's wire path, and, loaded with the ``[normalise]`` rules, its path is also tried with
the envelope's ``data`` member removed and the keys in the configured case.

Loading is strict: an unknown key, a missing field, a bad pattern or date is a ConfigError naming the
file and the entry. :func:`append` writes an entry without a TOML writer, quoting strings itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fnmatch
import functools
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paritycheck.common import jsonpath
from paritycheck.common.endpoints import parse_pattern, pattern_matches
from paritycheck.common.tomlfile import read_toml
from paritycheck.compare import Rules
from paritycheck.config import NormaliseConfig
from paritycheck.errors import ConfigError
from paritycheck.findings import ACCEPT_REASON

__all__ = [
    "FIELDS",
    "KINDS",
    "Acceptance",
    "KnownDifferences",
    "append",
    "finding_entry",
    "load",
    "new_acceptance",
    "parse",
]

KINDS = ("status", "header", "changed", "type", "added", "removed", "order", "body")
FIELDS = ("endpoint", "kind", "path", "reason", "owner", "until")
#: An entry that accepts a whole finding: its signature, optionally on some endpoints only.
FINDING_FIELDS = ("finding", "endpoint", "reason", "owner", "until")
TABLE = "accepted"
_HEADER = (
    "# Differences accepted for now: `paritycheck gate` shows them but does not fail on them until\n"
    "# `until` has passed. Add one with `paritycheck accept`; see docs/gate.md.\n"
)


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One accepted difference group; ``index`` is its position in the file (for messages)."""

    endpoint: str
    kind: str
    path: str
    reason: str
    owner: str
    until: dt.date
    index: int = 0
    #: A finding's signature: the entry accepts every group of that finding (on ``endpoint`` if set).
    finding: str = ""
    #: More spellings of ``path`` that mean the same place (normalised: envelope removed, key case).
    forms: tuple[str, ...] = ()

    def expired(self, today: dt.date) -> bool:
        """Accepted through ``until``; expired from the day after."""
        return today > self.until

    def matches(
        self, endpoint: str, kind: str, path: str, wire: Iterable[str] = (), *, finding: str = ""
    ) -> bool:
        """Whether a difference group (endpoint, kind, path; ``wire``: each side's wire path) of a run, of
        finding ``finding``, is this one."""
        if self.finding:
            return finding == self.finding and (not self.endpoint or pattern_matches(self.endpoint, endpoint))
        if not (self.kind == "*" or self.kind == kind) or not pattern_matches(self.endpoint, endpoint):
            return False
        patterns = (self.path, *self.forms)
        return any(path_matches(p, where) for p in patterns for where in (path, *wire))

    @property
    def label(self) -> str:
        if self.finding:
            where = f" on {self.endpoint}" if self.endpoint else ""
            return f"{TABLE}[{self.index}] (finding {self.finding}{where})"
        return f"{TABLE}[{self.index}] ({self.kind} {self.path} on {self.endpoint})"

    def to_json(self) -> dict[str, Any]:
        return {
            **({"finding": self.finding} if self.finding else {}),
            "endpoint": self.endpoint,
            "kind": self.kind,
            "path": self.path,
            "reason": self.reason,
            "owner": self.owner,
            "until": self.until.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class KnownDifferences:
    """The accepted differences of one file (``source``; None: no file)."""

    entries: tuple[Acceptance, ...] = ()
    source: str | None = None

    def match(
        self,
        endpoint: str,
        kind: str,
        path: str,
        *,
        today: dt.date,
        wire: Iterable[str] = (),
        finding: str = "",
    ) -> Acceptance | None:
        """The acceptance covering this group: an unexpired one if any, else an expired one, else None."""
        expired = None
        for entry in self.entries:
            if entry.matches(endpoint, kind, path, wire, finding=finding):
                if not entry.expired(today):
                    return entry
                expired = expired or entry
        return expired


# ---------------------------------------------------------------------------------------------- paths


@functools.lru_cache(maxsize=4096)
def _parsed(expr: str) -> jsonpath.JsonPath | None:
    try:
        return jsonpath.parse(expr)
    except ValueError:
        return None


def path_matches(pattern: str, path: str) -> bool:
    """Exact match, a JSONPath pattern (``[*]``, ``.*``, ``..``), or a glob for ``status``/``header:``."""
    if pattern == path:
        return True
    if pattern.startswith("$"):
        compiled, concrete = _parsed(pattern), _parsed(path)
        if compiled is None or concrete is None:
            return False
        parts = [sel for _descend, sel in concrete.steps]
        if any(descend for descend, _ in concrete.steps) or any(p is None for p in parts):
            # The difference path is itself a pattern: compare the index-free forms.
            return jsonpath.wildcard(pattern) == jsonpath.wildcard(path)
        return compiled.matches([p for p in parts if p is not None])
    if pattern.startswith("header:") and path.startswith("header:"):
        return fnmatch.fnmatchcase(path.lower(), pattern.lower())  # header names are case-insensitive
    return fnmatch.fnmatchcase(path, pattern)


# ---------------------------------------------------------------------------------------------- loading


def _check_until(raw: Any, *, where: str) -> dt.date:
    until = raw
    if isinstance(until, str):
        with contextlib.suppress(ValueError):  # not a date: reported just below
            until = dt.date.fromisoformat(until)
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise ConfigError(
            f"{where}: until must be a date (YYYY-MM-DD), not {raw!r}",
            hint="e.g. until = 2025-09-30",
        )
    return until


def _check_finding(raw: dict[str, Any], *, where: str) -> Acceptance:
    """Validate an entry that accepts a whole finding by its signature."""
    unknown = sorted(set(raw) - set(FINDING_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} in an entry with finding",
            hint=f"a finding entry has {', '.join(FINDING_FIELDS)} (endpoint optional); kind and path are"
            " for one group",
        )
    missing = [f for f in FINDING_FIELDS if f not in raw and f != "endpoint"]
    if missing:
        raise ConfigError(
            f"{where}: {', '.join(missing)} missing",
            hint="an accepted finding needs its signature, a reason, an owner and an until date",
        )
    for key in ("finding", "reason", "owner", *(("endpoint",) if "endpoint" in raw else ())):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ConfigError(
                f"{where}: {key} must be a non-empty string, not {raw[key]!r}", hint=f"fix {key}"
            )
    endpoint = raw.get("endpoint", "")
    if endpoint:
        parse_pattern(endpoint, what=f"{where}: endpoint")
    until = _check_until(raw["until"], where=where)
    return Acceptance(endpoint, "*", "*", raw["reason"], raw["owner"], until, finding=raw["finding"])


def _check_entry(raw: Any, *, where: str) -> Acceptance:
    """Validate one ``[[accepted]]`` table; ``where`` names the file and the entry."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: must be a table", hint=f"write it as [[{TABLE}]] with {', '.join(FIELDS)}"
        )
    if "finding" in raw:
        return _check_finding(raw, where=where)
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(FIELDS)}")
    missing = [f for f in FIELDS if f not in raw]
    if missing:
        raise ConfigError(
            f"{where}: {', '.join(missing)} missing",
            hint="every accepted difference needs an endpoint, kind, path, reason, owner and until date",
        )
    for key in ("endpoint", "kind", "path", "reason", "owner"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ConfigError(
                f"{where}: {key} must be a non-empty string, not {raw[key]!r}", hint=f"fix {key}"
            )
    parse_pattern(raw["endpoint"], what=f"{where}: endpoint")
    if raw["kind"] not in (*KINDS, "*"):
        raise ConfigError(
            f"{where}: kind must be one of {', '.join(KINDS)} or *, not {raw['kind']!r}", hint="fix kind"
        )
    path = raw["path"]
    if path.startswith("$"):
        try:
            jsonpath.parse(path)
        except ValueError as exc:
            raise ConfigError(
                f"{where}: path {path!r} is not a valid JSONPath: {exc}",
                hint="e.g. $.data.items[*].price, status or header:x-request-id",
            ) from None
    until = _check_until(raw["until"], where=where)
    return Acceptance(raw["endpoint"], raw["kind"], path, raw["reason"], raw["owner"], until)


def parse(data: dict[str, Any], *, source: str) -> KnownDifferences:
    """Validate a parsed ``known-differences.toml``."""
    unknown = sorted(set(data) - {TABLE})
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}", hint=f"write entries as [[{TABLE}]] tables"
        )
    raw = data.get(TABLE, [])
    if not isinstance(raw, list):
        raise ConfigError(
            f"{source}: {TABLE} must be an array of tables", hint=f"write [[{TABLE}]], not [{TABLE}]"
        )
    entries = []
    for i, item in enumerate(raw):
        entry = _check_entry(item, where=f"{source}: {TABLE}[{i}]")
        entries.append(dataclasses.replace(entry, index=i))
    return KnownDifferences(tuple(entries), source)


def load(
    path: str | Path, *, missing_ok: bool = True, normalise: NormaliseConfig | None = None
) -> KnownDifferences:
    """Load ``path``; a missing file is an empty list when ``missing_ok``, else a ConfigError.

    With ``normalise`` (the ``[normalise]`` rules), each entry also matches its path's normalised
    spellings (:func:`normalised_forms`).
    """
    file = Path(path)
    if not file.exists():
        if missing_ok:
            return KnownDifferences((), None)
        raise ConfigError(
            f"known differences file {file} does not exist", hint="check gate.known_differences"
        )
    known = parse(read_toml(file), source=str(file))
    if normalise is None:
        return known
    entries = tuple(dataclasses.replace(e, forms=normalised_forms(e.path, normalise)) for e in known.entries)
    return KnownDifferences(entries, known.source)


def normalised_forms(path: str, normalise: NormaliseConfig) -> tuple[str, ...]:
    """Other spellings of a JSONPath ``path`` in the normalised document: keys in ``key_case``, and,
    with ``envelope = "auto"``, without a leading ``data`` member (``$.data.unitPrice`` ->
    ``$.unit_price``). Patterns with ``..`` are left as they are."""
    if not path.startswith("$"):
        return ()
    try:
        steps = jsonpath.parse(path).steps
    except ValueError:
        return ()
    if any(descend for descend, _ in steps):
        return ()
    convert = Rules(key_case=normalise.key_case, envelope="none", timestamps=False)._convert
    parts = [convert(p) if isinstance(p, str) else p for _, p in steps]

    def written(parts: list[str | int | None]) -> str:
        # format_path writes concrete parts; a wildcard (None) is written [*]
        return "$" + "".join("[*]" if p is None else jsonpath.format_path([p])[1:] for p in parts)

    forms = [written(parts)]
    first = steps[0][1] if steps else None
    if normalise.envelope == "auto" and isinstance(first, str) and first.lower() == "data":
        forms.append(written(parts[1:]))
    return tuple(f for f in dict.fromkeys(forms) if f != path)


# ---------------------------------------------------------------------------------------------- writing


def new_acceptance(
    *,
    endpoint: str | None,
    kind: str | None,
    path: str | None,
    reason: str,
    owner: str,
    until: str | dt.date,
    today: dt.date | None = None,
    finding: str | None = None,
) -> Acceptance:
    """Validate the values of ``paritycheck accept``; an ``until`` already past is an error.

    With ``finding`` (a signature) the entry accepts that finding, on ``endpoint`` only when given;
    without it, ``endpoint``, ``kind`` and ``path`` name one group.
    """
    given = {"endpoint": endpoint, "kind": kind, "path": path, "finding": finding}
    raw: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if finding is None:
        missing = [f"--{k}" for k in ("endpoint", "kind", "path") if given[k] is None]
        if missing:
            raise ConfigError(
                f"accepted difference: {', '.join(missing)} missing",
                hint="name one group with --endpoint, --kind and --path, or a whole finding with --finding",
            )
    raw.update(reason=reason, owner=owner, until=until)
    entry = _check_entry(raw, where="accepted difference")
    today = today or dt.date.today()
    if entry.expired(today):
        raise ConfigError(
            f"accepted difference: until {entry.until.isoformat()} is already past",
            hint=f"pass --until a date from {today.isoformat()} on",
        )
    return entry


def toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_entry(entry: Acceptance) -> str:
    """One ``[[accepted]]`` table as TOML text."""
    lines = [f"[[{TABLE}]]"]
    keys = (
        [k for k in FINDING_FIELDS[:-1] if k != "endpoint" or entry.endpoint]
        if entry.finding
        else FIELDS[:-1]
    )
    for key in keys:
        lines.append(f"{key} = {toml_string(getattr(entry, key))}")
    lines.append(f"until = {entry.until.isoformat()}")
    return "\n".join(lines) + "\n"


def finding_entry(signature: str, *, until: dt.date, owner: str = "you@example.com") -> str:
    """The paste-ready ``[[accepted]]`` entry that accepts the finding ``signature`` until ``until``."""
    return format_entry(Acceptance("", "*", "*", ACCEPT_REASON, owner, until, finding=signature))


def append(path: str | Path, entry: Acceptance) -> KnownDifferences:
    """Append ``entry`` to ``path`` (created with a header comment when missing); return the new list.

    The whole new text is parsed and validated before it replaces the file, so a broken file is never
    left behind, and an existing file that is already invalid is reported instead of appended to.
    """
    file = Path(path)
    old = file.read_text(encoding="utf-8") if file.exists() else _HEADER
    if old and not old.endswith("\n"):
        old += "\n"
    text = old + ("\n" if old.strip() else "") + format_entry(entry)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}", hint="fix the file before appending") from None
    known = parse(data, source=str(file))
    tmp = file.with_name(file.name + ".tmp")
    if file.parent != Path():
        file.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, file)
    return known
