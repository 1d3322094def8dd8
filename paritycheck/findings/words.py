"""A finding in words: a one-line title (``bio`` and ``image``: null on legacy, a string on candidate)
and why its groups are one finding, both made from its signature and members only: never from one
occurrence's values, which depend on which exchange arrived first (the example pair shows those)."""

from __future__ import annotations

from collections.abc import Sequence

from paritycheck.common.text import plural
from paritycheck.compare import ACCEPTS_REFUSED, SERVER_ERROR
from paritycheck.findings.model import Member
from paritycheck.findings.signature import ERROR_BODY, field_of, type_words

__all__ = ["title_and_why"]

#: Fields and endpoints named in a title at most.
_NAMED = 3


def _names(items: Sequence[str], *, quote: bool = True) -> str:
    shown = [f"`{x}`" if quote else x for x in items[:_NAMED]]
    more = len(items) - len(shown)
    if more:
        return f"{', '.join(shown)} and {more} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _fields(members: Sequence[Member]) -> list[str]:
    """Distinct fields, the most frequent first."""
    counts: dict[str, int] = {}
    for m in members:
        name = field_of(m.path)
        counts[name] = counts.get(name, 0) + m.count
    return sorted(counts, key=lambda k: (-counts[k], k))


def _where(members: Sequence[Member]) -> str:
    endpoints = list(dict.fromkeys(m.endpoint for m in members))
    if len(endpoints) == 1:
        return endpoints[0]
    return f"{len(endpoints)} endpoints ({_names(endpoints, quote=False)})"


def _place(path: str) -> str:
    """A consequence's path as a reader names it: ``the body``, ``the event count``, or the path."""
    return {"$": "the body", "$.count": "the event count ($.count)"}.get(path, path)


def _spread(members: Sequence[Member]) -> str:
    fields = len({field_of(m.path) for m in members})
    endpoints = len({m.endpoint for m in members})
    return f"{plural(fields, 'field')} on {plural(endpoints, 'endpoint')}"


def _status(
    sig: str, grade: str, causes: Sequence[Member], consequences: Sequence[Member]
) -> tuple[str, str]:
    pair = sig.removeprefix("status ").removesuffix(" on a write")
    old, _, new = pair.partition("→")
    where = _where(causes)
    if grade == ACCEPTS_REFUSED:
        crashed = " (legacy refused by crashing)" if old[:1] == "5" else ""
        title = f"Candidate accepts what legacy refused: {where} {old} → {new}{crashed}"
    elif grade == SERVER_ERROR:
        title = f"Candidate fails with {new} where legacy answered {old}: {where}"
    else:
        title = f"Status {old} → {new}: {where}"
    why = f"one status change ({old} → {new}) on {plural(len({m.endpoint for m in causes}), 'endpoint')}"
    if consequences:
        n = sum(m.count for m in consequences)
        why += (
            f"; the {plural(n, 'body or header difference')} of those exchanges come with it"
            f" ({_names([_place(m.path) for m in consequences], quote=False)}) and are its detail, not causes"
            " of their own"
        )
    return title, why


def _absence(sig: str, causes: Sequence[Member]) -> tuple[str, str]:
    kind, _, present = sig.partition(" ")
    fields = _names(_fields(causes))
    if kind == "removed":
        title = f"{fields}: {present} on legacy, absent on candidate"
        what = f"a key with a {present} value on legacy that the candidate leaves out"
    else:
        title = f"{fields}: absent on legacy, {present} on candidate"
        what = f"a key the legacy leaves out that the candidate sends with a {present} value"
    return title, f"{what}, at {_spread(causes)}: one convention, whatever the field"


def _field_kind(kind: str, causes: Sequence[Member]) -> str:
    name = _names(_fields(causes))
    element = field_of(causes[0].path).endswith("[*]")
    if element:
        name = _names([f.removesuffix("[*]") for f in _fields(causes)])
    if kind == "removed":
        return (
            f"{name}: an element the legacy sends is missing on candidate"
            if element
            else (f"{name}: present on legacy, absent on candidate")
        )
    if kind == "added":
        return (
            f"{name}: an element only the candidate sends"
            if element
            else (f"{name}: absent on legacy, present on candidate")
        )
    if kind == "order":
        return f"{name}: the same items in another order"
    if kind == "event-missing":
        return "Stream events sent by legacy are missing on candidate"
    if kind == "event-extra":
        return "Stream events only the candidate sends"
    if kind == "event-order":
        return "Stream events in another order"
    if kind == "body":
        return "Bodies differ (not JSON)"
    return f"{name}: values differ"


def _error_body(causes: Sequence[Member]) -> tuple[str, str]:
    legacy = [m.path.removeprefix("$.") for m in causes if m.kind != "added"]
    candidate = [m.path.removeprefix("$.") for m in causes if m.kind != "removed"]
    sides = []
    if legacy:
        sides.append(f"legacy {_names(list(dict.fromkeys(legacy)))}")
    if candidate:
        sides.append(f"candidate {_names(list(dict.fromkeys(candidate)))}")
    title = f"Error bodies differ: {', '.join(sides)}"
    why = (
        "both backends refused with the same status and their error bodies differ, on"
        f" {plural(len({m.endpoint for m in causes}), 'endpoint')}: one error format, whatever the endpoint"
    )
    return title, why


def title_and_why(sig: str, grade: str, members: Sequence[Member]) -> tuple[str, str]:
    """The one-line title of the finding ``sig`` and why its members are one finding."""
    causes = [m for m in members if not m.consequence] or list(members)
    consequences = [m for m in members if m.consequence]
    kind = sig.split(" ", 1)[0]
    if kind == "status":
        return _status(sig, grade, causes, consequences)
    if sig == ERROR_BODY:
        return _error_body(causes)
    if kind == "type" and "→" in sig:
        old, _, new = sig.removeprefix("type ").partition("→")
        title = f"{_names(_fields(causes))}: {type_words(old)} on legacy, {type_words(new)} on candidate"
        return title, f"the same type change ({old} → {new}) at {_spread(causes)}, whatever the field"
    if kind in ("removed", "added") and sig.split(" ", 1)[1] in ("null", "empty"):
        return _absence(sig, causes)
    if kind == "renamed":
        old, _, new = sig.removeprefix("renamed ").partition("→")
        return (
            f"`{old}` renamed `{new}` on candidate",
            f"`{old}` removed and `{new}` added under the same object, with the same value, in the same"
            f" exchanges ({plural(causes[0].exchanges, 'exchange')})",
        )
    if kind == "header":
        name, _, types = sig.removeprefix("header ").partition(" ")
        old, _, new = types.partition("→")
        title = (
            f"Header `{name}`: {old} on legacy, {new} on candidate" if types else f"Header `{name}` differs"
        )
        return title, f"the same header difference on {plural(len({x.endpoint for x in causes}), 'endpoint')}"
    title = _field_kind(kind, causes)
    if kind == "changed" and "→" in sig:
        old, _, new = sig.rsplit(" ", 1)[1].partition("→")
        title = f"{_names(_fields(causes))}: {'empty' if old == 'empty' else old} on legacy,"
        title += f" {'empty' if new == 'empty' else 'a value' if new == 'value' else new} on candidate"
    paths = len({m.path for m in causes})
    why = (
        f"the field {_names(_fields(causes))} ({kind}) wherever it occurs:"
        f" {plural(paths, 'path')} on {plural(len({m.endpoint for m in causes}), 'endpoint')}"
    )
    if consequences:
        why += f"; {_names([_place(m.path) for m in consequences], quote=False)} follows from it"
    return title, why
