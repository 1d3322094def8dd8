"""What one group of differences says about its cause, with the endpoint abstracted away: its signature.

A signature is short, readable text (``status 401→403``, ``type null→string``, ``removed null``,
``removed *.email``, ``changed *.progress_percent``). Groups with one signature are one finding, on
whatever endpoint and at whatever depth they occur. The rules, each a reason a person can check:

- a **status** change is its status pair (a 5xx→2xx is marked ``on a write`` when it is one: the legacy
  refused that write by crashing);
- a **type** change is its type pair, whatever the field: a serialiser or a model changed, not a field;
- a key present on one side only whose value is ``null`` or empty (``""``, ``[]``, ``{}``) is an absence
  convention (``removed null``: null on legacy, left out by the candidate), whatever the field;
- anything else is its kind and the **field** it happens to: the last key of the path, with the array
  markers after it (``*.email`` in ``$.article.author.email`` and ``$.comments[*].author.email``), plus,
  for a changed value, the value classes when one side is null or empty;
- a header difference is the header's name (and the content types, for ``content-type``);
- in an exchange where both backends refused with the same status, the body differences are ``error
  body`` differences: the two error formats, whatever the endpoint.

Grades are :func:`paritycheck.compare.risk`'s, with the endpoint's method for status changes.
"""

from __future__ import annotations

import functools

from paritycheck.common.jsonpath import format_path, parse
from paritycheck.compare import endpoint_method, risk, shape, status_risk

__all__ = ["ERROR_BODY", "field_of", "parent_of", "signature", "type_words"]

#: Signature of the body differences of error answers with the same status on both sides.
ERROR_BODY = "error body"
#: Value classes of a difference's side, as the store reads them (paritycheck.store.findings).
NULL, EMPTY = "null", "empty"
_ABSENCE = (NULL, EMPTY)


@functools.lru_cache(maxsize=8192)
def _split(path: str) -> tuple[str, str]:
    """(parent path, field) of a body path: ``$.a[*].b`` -> (``$.a[*]``, ``b``); ``$.items[*]`` ->
    (``$``, ``items[*]``). A path that is not a body path is its own field."""
    if not path.startswith("$"):
        return "", path
    try:
        steps = [selector for _descend, selector in parse(path).steps]
    except ValueError:
        return "", path
    last = max((i for i, s in enumerate(steps) if isinstance(s, str)), default=-1)
    markers = "[*]" * (len(steps) - last - 1)
    if last < 0:
        return "", "$" + markers
    parent = format_path([s if s is not None else 0 for s in steps[:last]])
    return shape(parent), f"{steps[last]}{markers}"


def field_of(path: str) -> str:
    """The field a body path ends in: its last key, with the array markers after it."""
    return _split(path)[1]


def parent_of(path: str) -> str:
    """The object a body path's field belongs to, as a shape (``$.events[*].data``)."""
    return _split(path)[0]


def _where(path: str) -> str:
    field = field_of(path)
    return field if not path.startswith("$") or field.startswith("$") else f"*.{field}"


@functools.lru_cache(maxsize=65536)
def signature(
    endpoint: str, kind: str, path: str, detail: str, legacy: str, candidate: str, error_status: int = 0
) -> tuple[str, str]:
    """``(signature, grade)`` of differences of ``kind`` at shape ``path`` with ``detail`` (the status or
    type pair) on ``endpoint``; ``legacy`` and ``candidate`` are the value classes (``null``,
    ``empty`` or ""); ``error_status`` is the status both backends refused with, else 0."""
    method = endpoint_method(endpoint)
    grade = risk(kind, path, detail, method=method)
    if kind == "status":
        old, _, new = detail.partition("→")
        grade = status_risk(old, new, method)
        write = " on a write" if old[:1] == "5" and new[:1] == "2" and grade != status_risk(old, new) else ""
        return f"status {detail or '?'}{write}", grade
    if error_status:
        return ERROR_BODY, grade
    if kind == "type" and detail:
        return f"type {detail}", grade
    if kind in ("removed", "added"):
        present = legacy if kind == "removed" else candidate
        if present in _ABSENCE:
            return f"{kind} {present}", grade
    if kind == "header":
        name = path.removeprefix("header:")
        return (f"header {name} {detail}" if detail else f"header {name}"), grade
    where = _where(path)
    if kind == "changed" and (legacy or candidate):
        return f"changed {where} {legacy or 'value'}→{candidate or 'value'}", grade
    return f"{kind} {where}", grade


_TYPE_WORDS = {
    "null": "null",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "a list",
    "empty": "an empty body",
}


def type_words(name: str) -> str:
    """A JSON type name in a sentence: ``string`` -> ``a string``."""
    return _TYPE_WORDS.get(name, name)
