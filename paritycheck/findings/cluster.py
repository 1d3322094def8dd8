"""Clustering: one pass over a run's differences, exchange by exchange, into findings.

Each difference becomes a **member** (its endpoint, kind, shape, detail and value classes), and each
member gets the signature of :mod:`paritycheck.findings.signature`; members with one signature are one
finding. Three things are decided per exchange, because they depend on its other differences:

- **consequences of a status change**: when the status differs and one side refused or the status
  class changed (``401→403``, ``404→200``, ``500→204``; not ``200→201``, where both bodies are answers
  to compare), every other difference of the exchange comes with the status change. It becomes a
  member of the status finding, marked ``consequence``, instead of a cause of its own;
- **a stream's event count** (``$.count``) follows its missing or extra events: a consequence of them;
- **renames**: a key removed and another added under the same object, in exactly the same exchanges
  and with the same value (``user`` → ``username``), are one finding, ``renamed user→username``.

The pass keeps per member a count, an exchange count and the first exchange ids, and per exchange the
set of members it had (its *profile*, counted): finding-level exchange counts and the gate's "every
difference of the exchange is accepted" come from the profiles. Memory is bounded by the members and
distinct profiles, not by the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from paritycheck.compare import BREAKING, severity, shape, wire_paths
from paritycheck.findings.model import Finding, Findings, Member, rank_key
from paritycheck.findings.signature import field_of, parent_of, signature
from paritycheck.findings.words import title_and_why

__all__ = ["Clustering", "Interleaved", "assemble", "cluster", "first_ids", "folds"]

#: A difference row: id, exchange id, endpoint, kind, shape, detail, legacy class, candidate class
#: (paritycheck.store.DifferenceRow).
Row = tuple[int, int, str, str, str, str, str, str]
#: (value of first occurrence) lookup: id -> (path, legacy, candidate, legacy wire, candidate wire).
Values = dict[int, tuple[str, Any, Any, str | None, str | None]]
#: Pairs compared per exchange for renames at most (removed x added keys under one object).
_RENAME_PAIRS = 64


def folds(detail: str) -> bool:
    """Whether a status change (``"404→200"``) makes the exchange's other differences its detail:
    one side refused (4xx, 5xx) or the class changed. Two success answers stay two bodies to compare."""
    old, _, new = detail.partition("→")
    if not old or not new:
        return False
    return old[:1] != new[:1] or old[:1] in "45"


@dataclass(slots=True)
class _Acc:
    """A member being counted."""

    signature: str
    grade: str
    endpoint: str
    kind: str
    path: str
    detail: str
    consequence: bool
    first_id: int
    count: int = 0
    exchanges: int = 0
    last: int = -1
    examples: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Clustering:
    """What the pass counted: members, exchange profiles and rename co-occurrences."""

    members: list[_Acc] = field(default_factory=list)
    index: dict[tuple[Any, ...], int] = field(default_factory=dict)
    profiles: Counter[tuple[str, frozenset[int]]] = field(default_factory=Counter)
    together: Counter[tuple[int, int]] = field(default_factory=Counter)


class Interleaved(Exception):
    """An exchange's differences were not next to each other in the rows: read them by exchange."""


def cluster(
    rows: Iterable[Row], *, refused: Mapping[int, int] | None = None, examples: int = 5
) -> Clustering:
    """Count ``rows`` (each exchange's next to each other) into members, profiles and rename
    co-occurrences; ``refused`` maps the exchanges both backends refused with one status to it."""
    out = Clustering()
    shapes: dict[str, str] = {}
    refused = refused or {}
    done: set[int] = set()
    for exchange_id, group in groupby(rows, key=itemgetter(1)):
        if exchange_id in done:
            raise Interleaved(exchange_id)
        done.add(exchange_id)
        _exchange(out, exchange_id, list(group), shapes, examples, refused.get(exchange_id, 0))
    return out


def _member(out: Clustering, row: Row, path: str, cause: str | None, examples: int, refusal: int) -> int:
    """The index of the member of ``row`` (a consequence of finding ``cause`` when given), counted."""
    did, xid, endpoint, kind, _, detail, legacy, candidate = row
    key = (cause, endpoint, kind, path, detail, legacy, candidate, refusal > 0)
    i = out.index.get(key)
    if i is None:
        sig, grade = signature(endpoint, kind, path, detail, legacy, candidate, refusal)
        i = out.index[key] = len(out.members)
        out.members.append(_Acc(cause or sig, grade, endpoint, kind, path, detail, cause is not None, did))
    acc = out.members[i]
    acc.count += 1
    if acc.last != xid:
        acc.last = xid
        acc.exchanges += 1
        if len(acc.examples) < examples:
            acc.examples.append(xid)
    return i


def _signature(row: Row, path: str, refusal: int) -> str:
    return signature(row[2], row[3], path, row[5], row[6], row[7], refusal)[0]


def _exchange(
    out: Clustering, xid: int, rows: list[Row], shapes: dict[str, str], examples: int, refusal: int
) -> None:
    paths = []
    for row in rows:
        raw = row[4]
        path = shapes.get(raw)
        if path is None:
            path = shapes[raw] = shape(raw)  # rows stored before shapes were: a concrete path
        paths.append(path)
    status = next((i for i, r in enumerate(rows) if r[3] == "status"), None)
    cause = None
    if status is not None and folds(rows[status][5]):
        cause = _signature(rows[status], paths[status], refusal)
    events = next((i for i, r in enumerate(rows) if r[3] in ("event-missing", "event-extra")), None)
    profile: set[int] = set()
    removed: list[tuple[str, int]] = []
    added: list[tuple[str, int]] = []
    for i, row in enumerate(rows):
        own = None if i == status else cause
        if own is None and events is not None and row[3] == "changed" and paths[i] == "$.count":
            own = _signature(rows[events], paths[events], refusal)  # the count follows the events
        m = _member(out, row, paths[i], own, examples, refusal)
        profile.add(m)
        if own is None and not refusal:
            if row[3] == "removed" and not row[6]:
                removed.append((parent_of(paths[i]), m))
            elif row[3] == "added" and not row[7]:
                added.append((parent_of(paths[i]), m))
    if removed and added and len(removed) * len(added) <= _RENAME_PAIRS:
        for pair in {(r, a) for pr, r in removed for pa, a in added if pr == pa}:
            out.together[pair] += 1
    out.profiles[(rows[0][2], frozenset(profile))] += 1


def first_ids(c: Clustering) -> list[int]:
    """The difference ids whose values the findings show (each member's first occurrence)."""
    return [m.first_id for m in c.members]


def _renames(c: Clustering, values: Values) -> dict[int, str]:
    """Member index -> ``renamed a→b`` for removed/added pairs that always occur together, same value."""
    out: dict[int, str] = {}
    for (r, a), n in sorted(c.together.items()):
        removed, added = c.members[r], c.members[a]
        if r in out or a in out or not n == removed.exchanges == added.exchanges:
            continue
        old, new = values.get(removed.first_id), values.get(added.first_id)
        if old is None or new is None or old[1] != new[2]:
            continue
        out[r] = out[a] = f"renamed {field_of(removed.path)}→{field_of(added.path)}"
    return out


def assemble(
    c: Clustering,
    values: Values,
    *,
    run_id: int,
    first_seen: Callable[[Sequence[str]], dict[str, tuple[int, str | None]]] | None = None,
) -> Findings:
    """Findings from a clustering and its first occurrences' values, riskiest first."""
    renamed = _renames(c, values)
    members = []
    for i, acc in enumerate(c.members):
        path, legacy, candidate, wire_a, wire_b = values.get(acc.first_id, (acc.path, None, None, None, None))
        sig = renamed.get(i, acc.signature)
        members.append(
            Member(
                sig,
                acc.endpoint,
                acc.kind,
                acc.path,
                acc.detail,
                BREAKING if i in renamed else acc.grade,
                acc.count,
                acc.exchanges,
                legacy,
                candidate,
                wire_paths(acc.kind, acc.path, wire_a, wire_b),
                path,
                tuple(acc.examples),
                acc.consequence,
            )
        )
    exchanges: Counter[str] = Counter()
    for (_endpoint, profile), n in c.profiles.items():
        for sig in {members[i].signature for i in profile}:
            exchanges[sig] += n
    grouped: dict[str, list[Member]] = {}
    for m in members:
        grouped.setdefault(m.signature, []).append(m)
    seen = first_seen(sorted(grouped)) if first_seen is not None else {}
    items = sorted(
        (_finding(sig, ms, exchanges[sig], seen.get(sig)) for sig, ms in grouped.items()), key=rank_key
    )
    profiles = tuple(
        sorted(((e, p, n) for (e, p), n in c.profiles.items()), key=lambda t: (t[0], sorted(t[1])))
    )
    return Findings(run_id, tuple(items), tuple(members), profiles)


def _finding(sig: str, members: list[Member], exchanges: int, seen: tuple[int, str | None] | None) -> Finding:
    # Causes before consequences, most differences first; of a rename, the removed key first.
    ordered = sorted(
        members,
        key=lambda m: (m.consequence, -m.count, m.endpoint, m.kind != "removed", m.kind, m.path, m.detail),
    )
    causes = [m for m in ordered if not m.consequence] or ordered
    grade = min((m.grade for m in causes), key=severity)
    title, why = title_and_why(sig, grade, ordered)
    return Finding(
        sig,
        grade,
        title,
        why,
        exchanges,
        sum(m.count for m in ordered),
        tuple(ordered),
        seen[0] if seen else None,
        seen[1] if seen else None,
    )
