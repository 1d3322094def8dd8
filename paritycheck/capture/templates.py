"""Endpoint templates learned from the capture: slugs and usernames become ``{param}``.

The automatic template (:func:`paritycheck.common.endpoints.template`) knows identifiers by their form
(numbers, UUIDs, long hex, opaque tokens); a slug (``how-to-train-your-dragon``) or a username
(``celeb_evaluser1``) looks like any word, so one API showed 19 endpoints such as
``GET /api/profiles/celeb_evaluser1``. After a run, the endpoint names are clustered as Drain clusters log
lines: names with the same method and number of segments that agree everywhere but one position are one
endpoint with ``{param}`` at that position when it shows at least :data:`MIN_VALUES` distinct values and
they look like data, not like the names of resources: most of them are slug-like (a digit, ``-``, ``_``,
``.``, ``@`` or mixed case: ``q3-launch-1``, ``celeb_evaluser1``), or there are :data:`MANY_VALUES` of
them. So ``/api/v1/kpis``, ``/api/v1/goals`` and ``/api/v1/projects`` stay three endpoints. A plain word
that carries a large share of the requests there (:data:`LITERAL_SHARE`, at least :data:`MIN_LITERAL`)
is a literal that repeats (``/api/articles/feed`` next to article slugs) and stays as it is. Names that
came from ``[[endpoint]]`` patterns or the OpenAPI spec are never changed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping

_SLUG_MARK = re.compile(r"[0-9\-_.@~]")


def _slug_like(value: str) -> bool:
    return bool(_SLUG_MARK.search(value)) or (value != value.lower() and value != value.upper())


PARAM = "{param}"
#: Distinct values at one position (same context) that make it a parameter.
MIN_VALUES = 3
#: This many distinct values make a parameter whatever they look like.
MANY_VALUES = 10
#: A value with at least this share of the requests at the position, and MIN_LITERAL requests, is literal.
LITERAL_SHARE = 0.25
MIN_LITERAL = 3


def learn_templates(counts: Mapping[str, int], *, fixed: frozenset[str] = frozenset()) -> dict[str, str]:
    """A renaming ``{old endpoint: new endpoint}`` for the automatic names in ``counts`` (name -> requests).

    Names in ``fixed`` (from configured patterns or the spec) are left alone. Positions are clustered
    from left to right, so ``/users/{param}/posts/{param}`` can come out of two passes.
    """
    current = {name: name for name in counts if name not in fixed}
    for _ in range(8):  # a few passes: each can only add parameters, and paths are short
        renamed = _one_pass(
            {new: sum(counts[o] for o, n in current.items() if n == new) for new in set(current.values())}
        )
        if not renamed:
            break
        current = {old: renamed.get(new, new) for old, new in current.items()}
    return {old: new for old, new in current.items() if old != new}


def _one_pass(counts: Mapping[str, int]) -> dict[str, str]:
    split: dict[str, tuple[str, list[str]]] = {}
    for name in counts:
        method, _, path = name.partition(" ")
        split[name] = (method, path.split("/"))
    renamed: dict[str, str] = {}
    by_shape: dict[tuple[str, int], list[str]] = defaultdict(list)
    for name, (method, segments) in split.items():
        by_shape[(method, len(segments))].append(name)
    for (_method, length), names in by_shape.items():
        if len(names) < MIN_VALUES:
            continue
        for i in range(1, length):
            contexts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
            members: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for name in names:
                if name in renamed:
                    continue
                segments = split[name][1]
                context = (*segments[:i], *segments[i + 1 :])
                contexts[context][segments[i]] += counts[name]
                members[context].append(name)
            for context, values in contexts.items():
                if len(values) < MIN_VALUES or (PARAM in values and len(values) < MIN_VALUES + 1):
                    continue
                total = sum(values.values())
                plain = [v for v in values if not v.startswith("{")]
                slugs = sum(_slug_like(v) for v in plain)
                if len(plain) < MANY_VALUES and slugs * 2 < len(plain):
                    continue  # names of resources (kpis, goals, projects), not data
                literal = {
                    v
                    for v, n in values.items()
                    if not _slug_like(v) and n >= MIN_LITERAL and n >= LITERAL_SHARE * total
                }
                variable = [v for v in plain if v not in literal]
                if len(variable) + (PARAM in values) < MIN_VALUES:
                    continue
                for name in members[context]:
                    method, segments = split[name]
                    if segments[i] in variable:
                        renamed[name] = f"{method} {'/'.join([*segments[:i], PARAM, *segments[i + 1 :]])}"
    return renamed
