"""What a difference is, for grouping and for the reader: its shape, its finding, and its risk grade.

Differences group by **shape**, not by array index: ``$.items[0].completed_at`` and
``$.items[7].completed_at`` are one group ``$.items[*].completed_at``. A group is **one finding**: a
status difference's signature includes its status pair and a type difference's its type pair, so a
create's ``200 → 201`` and a validation error's ``422 → 400`` on one endpoint are two groups.

Each group gets a **risk grade** (docs/json-summary.md), from the most to the least severe:

- ``accepts-refused``: the candidate answered 2xx where the legacy refused with 4xx, or refused a write
  (POST, PUT, PATCH, DELETE) with 5xx; in a port this is usually a missing authorisation or validation
  check, so it is its own, highlighted class;
- ``server-error``: the candidate answered 5xx where the legacy did not;
- ``breaking``: a removed field or stream event, a type change, a status class change, a content-type
  change;
- ``behavioural``: a changed value, an order, a status change within its class, another header;
- ``additive``: an added field or stream event.

:func:`described` shows one side of a difference so that ``""``, ``null`` and ``(missing)`` differ.
"""

from __future__ import annotations

import json
from typing import Any

from paritycheck.common.jsonpath import wildcard
from paritycheck.compare.diff import EMPTY_BODY, json_type
from paritycheck.models import GRADES as GRADES  # re-exported: defined with the shared data model
from paritycheck.models import Difference

#: Grades from the most to the least severe (defined with the shared data model, for the configuration).
ACCEPTS_REFUSED, SERVER_ERROR, BREAKING, BEHAVIOURAL, ADDITIVE = GRADES
#: Methods that change something: a legacy that refused one by crashing (5xx) still refused it.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def shape(path: str) -> str:
    """The path with array indexes as ``[*]``: what differences group by."""
    return wildcard(path) if "[" in path else path


def detail(d: Difference) -> str:
    """What makes two differences of one shape the same finding: the status or type pair, else ``""``."""
    if d.kind == "status":
        return f"{d.legacy}→{d.candidate}"
    if d.kind == "type":
        return f"{_body_type(d.path, d.legacy)}→{_body_type(d.path, d.candidate)}"
    if d.kind == "header" and d.path == "header:content-type":
        return f"{d.legacy}→{d.candidate}"
    return ""


def _body_type(path: str, value: Any) -> str:
    return "empty" if path == "$" and value == EMPTY_BODY else json_type(value)


def status_risk(legacy: str, candidate: str, method: str = "") -> str:
    """The grade of a status change from ``legacy`` to ``candidate`` (as text) on a ``method`` request.

    A 2xx where the legacy refused (4xx, or 5xx for a write) is the candidate accepting what the legacy
    refused; a 5xx the legacy did not give is a server error the candidate introduces.
    """
    refused = legacy[:1] == "4" or (legacy[:1] == "5" and method in _WRITES)
    if refused and candidate[:1] == "2":
        return ACCEPTS_REFUSED
    if candidate[:1] == "5" and legacy[:1] != "5":
        return SERVER_ERROR
    return BREAKING if legacy[:1] != candidate[:1] else BEHAVIOURAL


def risk(kind: str, path: str, detail_text: str, *, method: str = "") -> str:
    """The grade of a group of differences of ``kind`` at ``path`` with signature ``detail_text``;
    ``method`` is the request's (an endpoint's first word), which a status change's grade depends on."""
    if kind == "status":
        legacy, _, candidate = detail_text.partition("→")
        return status_risk(legacy, candidate, method)
    if kind in ("removed", "type", "event-missing"):
        return BREAKING
    if kind == "header":
        return BREAKING if path == "header:content-type" else BEHAVIOURAL
    if kind in ("added", "event-extra"):
        return ADDITIVE
    return BEHAVIOURAL


def endpoint_method(endpoint: str) -> str:
    """The method of an endpoint name such as ``DELETE /api/tasks/{id}``."""
    return endpoint.partition(" ")[0]


def grade(d: Difference, *, method: str = "") -> str:
    """The risk grade of one difference."""
    return risk(d.kind, d.path, detail(d), method=method)


def severity(grade_name: str) -> int:
    """0 for the most severe grade; for sorting."""
    return GRADES.index(grade_name) if grade_name in GRADES else len(GRADES)


MISSING = "(missing)"
#: Kinds whose value exists on one side only: added on the candidate's, removed on the legacy's.
_ONLY_CANDIDATE = frozenset({"added", "event-extra"})
_ABSENT_ON_ONE_SIDE = frozenset({*_ONLY_CANDIDATE, "removed", "event-missing"})
#: Strings that would read like another value if shown bare.
_AMBIGUOUS = frozenset({"", "null", "true", "false", MISSING})


def described(kind: str, side: str, value: Any) -> str:
    """One side of a difference as a reader should see it, so that ``""``, ``null`` and an absent key
    never look alike: the side without the key of an ``added`` or ``removed`` difference reads
    ``(missing)``, null reads ``null``, and an empty or ambiguous string is shown quoted."""
    if side == ("legacy" if kind in _ONLY_CANDIDATE else "candidate") and kind in _ABSENT_ON_ONE_SIDE:
        return MISSING
    if value is None and kind == "header":  # a header has no null: None is its absence
        return MISSING
    if value is None:
        return "null"
    if isinstance(value, str):
        return (
            json.dumps(value, ensure_ascii=False) if value in _AMBIGUOUS or value.strip() != value else value
        )
    return json.dumps(value, ensure_ascii=False, default=str)


def wire_paths(kind: str, path: str, legacy: str | None, candidate: str | None) -> dict[str, str]:
    """``{"legacy": …, "candidate": …}``: each side's wire path (as a shape) where it differs from the
    normalised ``path`` (an envelope or key-case rename), for the reader; empty when both are ``path``.
    The side that lacks the key of an added or removed difference has no wire path to show."""
    absent = ("legacy" if kind in _ONLY_CANDIDATE else "candidate") if kind in _ABSENT_ON_ONE_SIDE else ""
    return {
        side: shape(wire)
        for side, wire in (("legacy", legacy), ("candidate", candidate))
        if wire is not None and side != absent and shape(wire) != path
    }


def on_the_wire(wire: dict[str, str]) -> str:
    """``on the wire: candidate $.errors.title``: :func:`wire_paths` for a line of text; ``""`` if none."""
    if not wire:
        return ""
    return "on the wire: " + ", ".join(f"{side} {path}" for side, path in wire.items())
