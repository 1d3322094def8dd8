"""Where a difference is on the wire: its path in each backend's own answer, before normalisation.

Normalisation renames keys (``articlesCount`` becomes ``articles_count``) and unwraps envelopes
(``{"errors": {...}}`` becomes ``{"error": {...}}``), so a normalised path such as ``$.error.body``
may name a key neither backend sent (issue 12). Differences keep the normalised path for grouping and
each side's wire path, found here by walking the raw document along the normalised path: through the
envelope the rules unwrapped, then at each object the key whose normalised name is the path's.
Where a side lacks the member, the rest of the path is kept as normalised. Array indexes are kept
(an ``unordered`` array was sorted, so its index is the sorted one).
"""

from __future__ import annotations

import functools
from typing import Any

from paritycheck.common.jsonpath import Part, format_path, parse
from paritycheck.compare.normalise import Rules, unwrap

__all__ = ["wire_path", "wire_paths_in"]


def _compact(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _payload(doc: Any) -> tuple[Any, list[Part], str | None]:
    """The envelope's payload, the keys walked to reach it, and the error key of a failed envelope."""
    prefix: list[Part] = []
    for _ in range(16):
        payload = unwrap(doc)
        if payload is doc:
            return doc, prefix, None
        data_key = next((k for k in doc if _compact(k) == "data"), None)
        if data_key is not None and doc[data_key] is payload:
            prefix.append(data_key)
            doc = payload
            continue
        # A failed envelope became {"error": <error, else errors, else message>}.
        for wanted in ("error", "errors", "message"):
            key = next((k for k in doc if _compact(k) == wanted and not _empty(doc[k])), None)
            if key is not None:
                return doc, prefix, key
        return doc, prefix, None
    return doc, prefix, None


def wire_path(rules: Rules, raw: Any, path: str) -> str:
    """``path`` (into the normalised document) as it is written in ``raw``, the parsed answer."""
    return wire_paths_in(rules, raw, [path])[0]


def wire_paths_in(rules: Rules, raw: Any, paths: list[str]) -> list[str]:
    """:func:`wire_path` of each of ``paths`` in one document (its envelope is looked at once)."""
    payload: tuple[Any, list[Part], str | None] | None = None
    out = []
    for path in paths:
        parts = _parts(path)
        if parts is None:
            out.append(path)
            continue
        if payload is None:
            payload = _payload(raw) if rules.envelope == "auto" else (raw, [], None)
        out.append(_walk(rules, payload, list(parts)))
    return out


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[Part, ...] | None:
    """The steps of a difference's path (the same paths recur in every exchange); None: not a JSONPath."""
    if not path.startswith("$"):
        return None
    try:
        return tuple(s for _, s in parse(path).steps if s is not None)
    except ValueError:
        return None


def _walk(rules: Rules, payload: tuple[Any, list[Part], str | None], parts: list[Part]) -> str:
    node, prefix, error_key = payload
    out: list[Part] = list(prefix)
    if error_key is not None and parts[:1] == ["error"]:
        out.append(error_key)
        node = node[error_key]
        parts = parts[1:]
    convert = rules._convert  # same package: the one key-case rule normalisation used
    for part in parts:
        if isinstance(part, int):
            out.append(part)
            node = node[part] if type(node) is list and -len(node) <= part < len(node) else None
        elif type(node) is dict:
            key = part if part in node else next((k for k in node if convert(k) == part), part)
            out.append(key)
            node = node.get(key)
        else:
            out.append(part)
            node = None
    return format_path(out)
