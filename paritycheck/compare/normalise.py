"""Normalise a parsed JSON body so that answers which mean the same thing become equal values.

Pure functions; :class:`Rules` is compiled once from ``[normalise]`` plus the matching ``[[endpoint]]``
rules and applied with :func:`normalise`. The steps, in order:

1. **Envelope** (``envelope = "auto"``), at the root only. An object is an envelope when every key is
   one of ``success ok succeeded is_success status status_code code data error errors message``
   (compared without case, ``_`` or ``-``) and it has a success flag (``success``, ``ok``,
   ``succeeded``, ``is_success``, or ``status`` when it is a boolean) or an ``error``/``errors`` key. It
   *failed* when the flag is false or, without a flag, when ``error`` or ``errors`` is non-empty (not
   null, false, ``""``, ``[]`` or ``{}``). A failed envelope becomes
   ``{"error": <error, else errors, else message>}``; a successful one with ``data`` becomes its
   ``data`` (repeatedly, should that be an envelope too); one without ``data`` stays as it is. So
   ``{"success": true, "data": X, "error": null}`` equals a bare ``X``. A non-boolean flag
   (``"success": "yes"``) or an unknown key means it is not an envelope.
2. **Key case**: every object key that looks like an identifier (letters, digits, ``_``, ``-``, starting
   with a letter after optional underscores) is rewritten: ``snake`` turns ``userID`` into ``user_id``,
   ``HTTPStatus`` into ``http_status``, ``line2Text`` into ``line2_text``, ``Content-Type`` into
   ``content_type``; ``camel`` writes the snake words as ``userId``. Other keys (dates, UUIDs, URLs used
   as map keys) are kept. Should two keys of one object become the same, the one already written that
   way wins, else the smallest original key: never the order they came in.
3. **Nulls** (``null_equals_missing``): object members whose value is null are dropped. Array elements
   are kept.
4. **Timestamps**: a string that is an ISO-8601 date-time (``T``, ``t`` or a space between date and
   time; seconds and any number of fraction digits optional; ``Z``, ``+00:00``, ``+0200``, ``+02`` or no
   offset) becomes ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC. A time without an offset is taken as UTC.
   Fractions are *truncated* to microseconds, so .NET's 7 digits (``.1234567``) equal Python's 6
   (``.123456``); a zero fraction is left out. Plain dates, invalid dates and other strings are kept.
5. **Numbers**: an integral float within ±2**53 becomes an int (``1.0`` equals ``1``). Booleans are
   never numbers.
6. **Paths**: ``ignore`` paths are removed (an ignored array element becomes null instead, so the others
   keep their indexes) and ``unordered`` arrays are sorted: objects by their identity key (the first of
   ``id``, ``uuid``, ``key``, ``slug``, ``name``, ``code`` that every element has), so that objects that
   also differ elsewhere still line up, and other elements by their canonical JSON. An
   unordered array has no positions, so inside it ``[*]`` selects elements and ``[n]`` selects none.
   Paths name the *normalised* document: key names after the key case (names written in a path are
   converted by the same rule, so ``$.meta.requestId`` works under ``snake`` too) and, with
   ``envelope = "auto"``, the payload: a path starting ``$.data`` also applies to the payload at ``$``,
   so ``$.data.items`` names the items with or without the envelope. The root itself is never removed.

Should the normalised result be an envelope itself (keys merged by case, nulls or ignored keys dropped),
it is unwrapped and normalised again until nothing changes, so normalising twice equals normalising once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paritycheck.common.jsonparse import dumps_canonical
from paritycheck.common.jsonpath import JsonPath, PathSet, States, parse
from paritycheck.compare.diff import IDENTITY_KEYS
from paritycheck.config import EndpointRule, NormaliseConfig

KEY_CASES = ("snake", "camel", "none")
_CONVERTIBLE = re.compile(r"_*[A-Za-z][A-Za-z0-9_-]*")
_PLURAL_ACRONYM = re.compile(r"([A-Z]{2,})s(?=$|[A-Z0-9_-])")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"([a-z0-9])([A-Z])")
_CACHE_LIMIT = 20_000
_snake_cache: dict[str, str] = {}
_camel_cache: dict[str, str] = {}


def to_snake(key: str) -> str:
    """``userID`` -> ``user_id``, ``HTTPStatus`` -> ``http_status``; non-identifiers unchanged."""
    out = _snake_cache.get(key)
    if out is None:
        out = key
        if _CONVERTIBLE.fullmatch(key):
            words = _PLURAL_ACRONYM.sub(r"\1S", key.replace("-", "_"))  # "userIDs" -> "user_ids"
            out = _WORD.sub(r"\1_\2", _ACRONYM.sub(r"\1_\2", words)).lower()
        if len(_snake_cache) >= _CACHE_LIMIT:  # keys that are data (ids as map keys) must not grow it forever
            _snake_cache.clear()
        _snake_cache[key] = out
    return out


def to_camel(key: str) -> str:
    """``user_id`` and ``UserID`` -> ``userId``; non-identifiers unchanged."""
    out = _camel_cache.get(key)
    if out is None:
        out = key
        if _CONVERTIBLE.fullmatch(key):
            snake = to_snake(key)
            body = snake.lstrip("_")
            first, *rest = body.split("_")
            out = snake[: len(snake) - len(body)] + first + "".join(w[:1].upper() + w[1:] for w in rest)
        if len(_camel_cache) >= _CACHE_LIMIT:
            _camel_cache.clear()
        _camel_cache[key] = out
    return out


def _same(key: str) -> str:
    return key


_CONVERTERS: dict[str, Callable[[str], str]] = {"snake": to_snake, "camel": to_camel, "none": _same}

# --- timestamps -------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?"
    r" ?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)
_SEPARATORS = frozenset("Tt ")


def timestamp(value: str) -> str:
    """The canonical UTC form of an ISO-8601 date-time string; any other string unchanged."""
    # Cheap shape test first: almost every string fails it on length or the dash at 4.
    if not (16 <= len(value) <= 64 and value[4] == "-" and value[10] in _SEPARATORS and value[13] == ":"):
        return value
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        return value
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = m.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        t = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
        if sign:
            hours, minutes = int(off_h), int(off_m or 0)
            if hours > 23 or minutes > 59:
                return value
            offset = dt.timedelta(hours=hours, minutes=minutes)
            t = t - offset if sign == "+" else t + offset
    except (ValueError, OverflowError):
        return value
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}Z" if t.microsecond else f"{text}Z"


# --- envelopes --------------------------------------------------------------------------------------

FLAGS = ("success", "ok", "succeeded", "issuccess", "status")
ENVELOPE_KEYS = frozenset({*FLAGS, "statuscode", "code", "data", "error", "errors", "message"})


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def unwrap(doc: Any) -> Any:
    """The payload of an envelope (see the module docstring), or ``doc`` when it is not one."""
    for _ in range(16):
        if type(doc) is not dict or not doc or len(doc) > len(ENVELOPE_KEYS):
            return doc
        fields: dict[str, Any] = {}
        for key, value in doc.items():
            compact = key.replace("_", "").replace("-", "").lower()
            if compact not in ENVELOPE_KEYS or compact in fields:
                return doc
            fields[compact] = value
        flag: bool | None = None
        for name in FLAGS:
            if name in fields:
                value = fields[name]
                if type(value) is bool:
                    flag = value
                    break
                if name != "status":  # "status" may be a string or a code; any other flag must be a bool
                    return doc
        has_error_key = "error" in fields or "errors" in fields
        if flag is None and not has_error_key:
            return doc
        error = next((fields[k] for k in ("error", "errors") if not _empty(fields.get(k))), None)
        if flag is False or (flag is None and error is not None):
            if len(doc) == 1 and "error" in doc:
                return doc  # already the failure form: unwrapping must reach a fixed point
            return {"error": error if error is not None else fields.get("message")}
        if "data" not in fields:
            return doc
        doc = fields["data"]
    return doc


# --- rules ------------------------------------------------------------------------------------------


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class Rules:
    """Compiled normalisation rules; build with :meth:`from_config`, apply with :func:`normalise`."""

    key_case: str = "snake"
    envelope: str = "auto"
    timestamps: bool = True
    null_equals_missing: bool = False
    float_tolerance: float = 0.0
    ignore: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    _convert: Callable[[str], str] = field(init=False, repr=False, compare=False)
    _machine: PathSet = field(init=False, repr=False, compare=False)
    _root: States = field(init=False, repr=False, compare=False)
    _flags: dict[States, tuple[bool, bool]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key_case not in _CONVERTERS:
            raise ValueError(f"key_case must be one of {', '.join(KEY_CASES)}, not {self.key_case!r}")
        if self.envelope not in ("auto", "none"):
            raise ValueError(f"envelope must be 'auto' or 'none', not {self.envelope!r}")
        convert = _CONVERTERS[self.key_case]
        paths = tuple(_convert_path(parse(expr), convert) for expr in (*self.ignore, *self.unordered))
        machine = PathSet(paths)
        root = machine.start
        if self.envelope == "auto" and root:
            root = tuple(sorted({*root, *machine.advance(root, "data")}))
        object.__setattr__(self, "_convert", convert)
        object.__setattr__(self, "_machine", machine)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_flags", {})

    @classmethod
    def from_config(cls, cfg: NormaliseConfig, extra: Sequence[EndpointRule] = ()) -> Rules:
        """Compile ``[normalise]`` plus the ignore/unordered paths of the endpoint rules that apply."""
        return cls(
            key_case=cfg.key_case,
            envelope=cfg.envelope,
            timestamps=cfg.timestamps,
            null_equals_missing=cfg.null_equals_missing,
            float_tolerance=cfg.float_tolerance,
            ignore=_dedupe([*cfg.ignore, *(p for rule in extra for p in rule.ignore)]),
            unordered=_dedupe([*cfg.unordered, *(p for rule in extra for p in rule.unordered)]),
        )

    def _flags_of(self, states: States) -> tuple[bool, bool]:
        """(ignored, unordered) for the location these states stand for."""
        flags = self._flags.get(states)
        if flags is None:
            accepted = self._machine.accepted(states)
            n_ignore = len(self.ignore)
            flags = (any(p < n_ignore for p in accepted), any(p >= n_ignore for p in accepted))
            if len(self._flags) > 50_000:
                self._flags.clear()
            self._flags[states] = flags
        return flags

    def apply(self, value: Any) -> Any:
        """Normalise one parsed document."""
        if self.envelope != "auto":
            return self._value(value, self._root)
        value = self._value(unwrap(value), self._root)
        # Normalising can turn a payload into an envelope (keys merged by case, nulls or ignored keys
        # dropped); unwrap again until nothing changes, so normalising twice equals normalising once.
        for _ in range(16):
            payload = unwrap(value)
            if payload is value:
                break
            value = self._value(payload, self._root)
        return value

    def _value(self, value: Any, states: States) -> Any:
        kind = type(value)
        if kind is dict:
            return self._object(value, states)
        if kind is list:
            if not states:
                return [self._value(item, ()) for item in value]
            advance = self._machine.advance
            if self._flags_of(states)[1]:
                # An unordered array has no positions: only [*] selects its elements, never [n].
                sub = advance(states, -1)
                items = [None if sub and self._flags_of(sub)[0] else self._value(item, sub) for item in value]
                items.sort(key=_sort_key(items))
                return items
            items = []
            for i, item in enumerate(value):
                sub = advance(states, i)
                # An ignored element becomes null: removing it would shift the indexes of the others.
                items.append(None if sub and self._flags_of(sub)[0] else self._value(item, sub))
            return items
        if kind is str:
            return timestamp(value) if self.timestamps else value
        if kind is float and value.is_integer() and -(2**53) <= value <= 2**53:
            return int(value)
        return value

    def _object(self, obj: dict[str, Any], states: States) -> dict[str, Any]:
        out: dict[str, Any] = {}
        convert = self._convert
        drop_null = self.null_equals_missing
        kept = 0
        for key, value in obj.items():
            if value is None and drop_null:
                continue
            new = convert(key)
            sub: States = ()
            if states:
                sub = self._machine.advance(states, new)
                if sub and self._flags_of(sub)[0]:
                    continue
            kept += 1
            out[new] = self._value(value, sub)
        if len(out) < kept:
            return self._object_colliding(obj, states)
        return out

    def _object_colliding(self, obj: dict[str, Any], states: States) -> dict[str, Any]:
        """Slow path when two keys convert to the same name: pick the winner by key, not by order."""
        convert = self._convert
        out: dict[str, Any] = {}
        for key in sorted(obj, key=lambda k: (convert(k) != k, k)):
            new = convert(key)
            value = obj[key]
            if new in out or (value is None and self.null_equals_missing):
                continue
            sub: States = self._machine.advance(states, new) if states else ()
            if sub and self._flags_of(sub)[0]:
                continue
            out[new] = self._value(value, sub)
        return out


def _convert_path(path: JsonPath, convert: Callable[[str], str]) -> JsonPath:
    steps = tuple((d, convert(s) if isinstance(s, str) else s) for d, s in path.steps)
    return JsonPath(expr=path.expr, steps=steps)


def normalise(value: Any, rules: Rules) -> Any:
    """Return ``value`` normalised by ``rules`` (the input is not modified)."""
    return rules.apply(value)


def _sort_key(items: list[Any]) -> Callable[[Any], Any]:
    """How an unordered array sorts: objects by identity key, then canonical JSON; else canonical JSON."""
    if items and all(type(x) is dict for x in items):
        for key in IDENTITY_KEYS:
            if all(key in x for x in items):
                return lambda x: (dumps_canonical(x[key]), dumps_canonical(x))
    return dumps_canonical
