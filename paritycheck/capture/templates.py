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

Names are stable across runs and never stand beside their own instances (issue 21.7). The templates a
store remembers (:class:`KnownNames`: learned by earlier runs, the spec's paths, ``[[endpoint]]``
patterns) and this run's own (``{id}`` included) take in the literal names they cover, so
``/api/articles/{id}`` no longer stands next to ``/api/articles/short-lived-552303``: a value at a
parameter's position is taken in when it is slug-like, or when most values there are and it is no
repeated literal (the same tests as above), and never when the store remembers it as a literal kept
beside that template. Then the spellings of one endpoint (``{id}``, ``{param}``, the spec's
``{kpi_id}``) become one: the store's, else the most specific.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from paritycheck.common.endpoints import canonical_names, endpoint_shape

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


@dataclass(frozen=True, slots=True)
class KnownNames:
    """Endpoint names a store remembers: the name each template's shape goes by, and literals kept beside
    a template (``GET /api/articles/feed`` beside ``GET /api/articles/{param}``)."""

    templates: tuple[str, ...] = ()
    literals: frozenset[str] = frozenset()

    def spelling(self) -> Callable[[str], str]:
        """Gives an endpoint name its remembered spelling (``GET /kpis/{id}`` -> ``GET /kpis/{kpi_id}``),
        for reading runs named before a spec or a learned template came along."""
        shapes = {endpoint_shape(name): name for name in self.templates}
        return lambda name: shapes.get(endpoint_shape(name), name) if "{" in name else name


def learn_templates(
    counts: Mapping[str, int], *, fixed: frozenset[str] = frozenset(), known: KnownNames | None = None
) -> dict[str, str]:
    """A renaming ``{old endpoint: new endpoint}`` for the automatic names in ``counts`` (name -> requests).

    Names in ``fixed`` (from configured patterns or the spec) are left alone. Positions are clustered
    from left to right, so ``/users/{param}/posts/{param}`` can come out of two passes. ``known``
    templates (and ``fixed`` ones) take in the literals they cover and name their shape.
    """
    known = known or KnownNames()
    current = {name: name for name in counts if name not in fixed}
    for _ in range(8):  # a few passes: each can only add parameters, and paths are short
        renamed = _one_pass(_totals(counts, current))
        if not renamed:
            break
        current = {old: renamed.get(new, new) for old, new in current.items()}
    templates = {
        *known.templates,
        *(f for f in fixed if "{" in f),
        *(n for n in current.values() if "{" in n),
    }
    folded = fold_literals(_totals(counts, current), templates, literals=known.literals)
    current = {old: folded.get(new, new) for old, new in current.items()}
    shapes = {endpoint_shape(name): name for name in known.templates}
    spelled = canonical_names({*current.values(), *fixed}, known=shapes)
    current = {old: spelled.get(new, new) for old, new in current.items()}
    return {old: new for old, new in current.items() if old != new}


def _totals(counts: Mapping[str, int], current: Mapping[str, str]) -> dict[str, int]:
    """Requests per current name (several old names may have become one)."""
    totals: dict[str, int] = defaultdict(int)
    for old, new in current.items():
        totals[new] += counts[old]
    return dict(totals)


def _covers(template: list[str], segments: list[str]) -> list[str] | None:
    """The name's values at the template's parameters, or None when the template does not cover it (or
    it has no value there: another spelling of the same template, not one of its instances)."""
    values = []
    for part, segment in zip(template, segments, strict=True):
        if "{" not in part:
            if part != segment:
                return None
        elif not segment.startswith("{"):
            if not _segment_regex(part).fullmatch(segment):
                return None
            values.append(segment)
    return values or None


def _segment_regex(part: str) -> re.Pattern[str]:
    """A template segment (``{id}``, ``{name}.json``) as a regular expression for one segment."""
    pieces = re.split(r"(\{[^/{}]*\})", part)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces if p))


def _by_shape(templates: Iterable[str]) -> dict[tuple[str, int], list[tuple[str, list[str]]]]:
    """Templates by (method, number of segments), those with the fewest parameters first."""
    out: dict[tuple[str, int], list[tuple[str, list[str]]]] = defaultdict(list)
    for name in sorted(set(templates), key=lambda t: (t.count("{"), t)):
        method, _, path = name.partition(" ")
        out[(method, path.count("/"))].append((name, path.split("/")))
    return out


def _covering(names: Iterable[str], templates: Iterable[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """``{template: [(name, its values at the parameters)]}`` for the names a template covers."""
    index = _by_shape(templates)
    covered: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for name in names:
        method, _, path = name.partition(" ")
        segments = path.split("/")
        for template, parts in index.get((method, len(segments) - 1), ()):
            values = _covers(parts, segments)
            if values is not None:
                covered[template].append((name, values))
                break
    return covered


def kept_literals(names: Iterable[str], templates: Iterable[str]) -> set[str]:
    """The literal names that a template covers but that stay literal (``GET /api/articles/feed``)."""
    covered = _covering((n for n in names if "{" not in n), templates)
    return {name for members in covered.values() for name, _ in members}


def fold_literals(
    counts: Mapping[str, int], templates: Iterable[str], *, literals: frozenset[str] = frozenset()
) -> dict[str, str]:
    """``{literal name: template}`` for the names in ``counts`` that a template covers and that are data.

    A name is covered when it agrees with the template everywhere but at its parameters; it is taken in
    when each value there is slug-like, or most values there are and it is no repeated literal, and it is
    not one of ``literals``. With several covering templates, the one with the fewest parameters wins.
    """
    templates = set(templates)
    candidates = (n for n in counts if n not in literals)
    out: dict[str, str] = {}
    for template, members in _covering(candidates, templates).items():
        total = counts.get(template, 0) + sum(counts[name] for name, _ in members)
        plain = {v for _, values in members for v in values if not _slug_like(v)}
        slugs = {v for _, values in members for v in values if _slug_like(v)}
        data = len(plain) + len(slugs) >= MANY_VALUES or len(slugs) * 2 >= len(plain) + len(slugs)
        repeated = max(MIN_LITERAL, LITERAL_SHARE * total)  # a plain word this common is a literal
        for name, values in members:
            if all(_slug_like(v) or (data and counts[name] < repeated) for v in values):
                out[name] = template
    for name, template in out.items():  # a template taken in by a wider one: its names go there too
        seen = {name}
        while template in out and template not in seen:
            seen.add(template)
            template = out[template]
        out[name] = template
    return out


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
