"""Compare two stream records (SSE events, WebSocket messages, SignalR invocations) as sequences.

Each event's data is parsed when it is JSON and normalised with the body rules, so key case, ignore
rules and timestamps work inside events as in bodies. The two event lists are then aligned with
:class:`difflib.SequenceMatcher`, twice:

1. on each event's full signature (name plus canonical normalised data): runs that match exactly;
2. inside each region that did not match, on a coarse signature (the event name, or the SignalR
   message type and target): events paired there are the same event with a different payload, and
   their differences get the usual kinds at paths like ``$.events[3].data.user_id`` (the legacy index).

What stays unpaired is ``event-missing`` (only in legacy) or ``event-extra`` (only in candidate), except
that a missing event whose full signature equals an extra one is one ``event-order`` difference. With
``unordered_events`` both lists are compared as multisets. Stream-level differences: the close code and
reason (``$.close.code``), the event count (``$.count``) and lines a browser would drop
(``$.malformed_lines``). The handshake status is the reply status, compared by the comparator.

SignalR: invocation ids are replaced by their order of first appearance on each side; with ``coalesce``
consecutive invocations of one target whose arguments are all text (a streamed reply in chunks) become
one invocation with the joined text, so chunk boundaries never differ; stream items of one invocation
likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

from paritycheck.common.jsonparse import dumps_canonical, loads
from paritycheck.compare.diff import bounded, diff
from paritycheck.models import Difference

__all__ = ["compare_streams", "stream_view"]

Normalise = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _parse(data: Any, normalise: Normalise) -> Any:
    if isinstance(data, str):
        text = data.lstrip()
        if text[:1] in ("{", "["):
            try:
                return normalise(loads(data))
            except (ValueError, RecursionError):
                return data
        return data
    return data


def _signalr_ids(events: list[dict[str, Any]]) -> None:
    """Invocation ids become ``#1``, ``#2``... in order of first appearance: each side numbers its own."""
    seen: dict[str, str] = {}
    for event in events:
        data = event.get("data")
        if isinstance(data, dict) and "invocationId" in data:
            key = str(data["invocationId"])
            data["invocationId"] = seen.setdefault(key, f"#{len(seen) + 1}")


def _chunk_key(data: Any) -> tuple[Any, ...] | None:
    if not isinstance(data, dict):
        return None
    if data.get("type") == 1 and isinstance(data.get("arguments"), list):
        args = data["arguments"]
        if args and all(isinstance(a, str) for a in args):
            return (1, data.get("target"))
    if data.get("type") == 2 and isinstance(data.get("item"), str):
        return (2, data.get("invocationId"))
    return None


def _coalesce(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    last: tuple[Any, ...] | None = None
    for event in events:
        data: Any = event.get("data")
        key = _chunk_key(data)
        if key is not None and key == last:
            merged = out[-1]["data"]
            if key[0] == 1:
                merged["arguments"] = ["".join(merged["arguments"]) + "".join(data["arguments"])]
            else:
                merged["item"] += data["item"]
            continue
        if key is not None and key[0] == 1:
            data = {**data, "arguments": ["".join(data["arguments"])]}
            event = {**event, "data": data}
        out.append(event)
        last = key
    return out


def _events(doc: dict[str, Any], normalise: Normalise, *, coalesce: bool) -> list[dict[str, Any]]:
    raw = doc.get("events")
    events = [dict(e) for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    for event in events:
        event["data"] = _parse(event.get("data"), _same)
        event.pop("retry", None)
    if doc.get("stream") == "signalr":  # on the wire names, before key case changes them
        _signalr_ids(events)
        if coalesce:
            events = _coalesce(events)
    for event in events:
        if not isinstance(event["data"], str):
            event["data"] = normalise(event["data"])
    return events


def stream_view(
    doc: dict[str, Any], normalise: Normalise = _same, *, coalesce: bool = True
) -> dict[str, Any]:
    """The record as compared: events parsed, normalised and (SignalR) coalesced, so that the paths of
    differences point into it (the HTML report shows and marks this)."""
    return {**doc, "events": _events(doc, normalise, coalesce=coalesce)}


def _full(event: dict[str, Any]) -> bytes:
    return dumps_canonical(event)


def _coarse(event: dict[str, Any]) -> str:
    data = event.get("data")
    if isinstance(data, dict) and "type" in data:
        return f"{data.get('type')}:{data.get('target', '')}"
    return str(event.get("event", "binary" if event.get("binary") else "message"))


def _pairs(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Indexes paired with another payload, then legacy-only and candidate-only ones (equal events are
    left out: their canonical bytes are the same, so they have no difference to find)."""
    pairs: list[tuple[int, int]] = []
    only_a: list[int] = []
    only_b: list[int] = []
    sig_a, sig_b = [_full(e) for e in a], [_full(e) for e in b]
    if sig_a == sig_b:
        return pairs, only_a, only_b
    full = SequenceMatcher(None, sig_a, sig_b, autojunk=False)
    for tag, i1, i2, j1, j2 in full.get_opcodes():
        if tag == "equal":
            continue  # equal canonical events: nothing to diff
        coarse = SequenceMatcher(
            None, [_coarse(e) for e in a[i1:i2]], [_coarse(e) for e in b[j1:j2]], autojunk=False
        )
        for ctag, k1, k2, l1, l2 in coarse.get_opcodes():
            if ctag == "equal":
                pairs.extend(zip(range(i1 + k1, i1 + k2), range(j1 + l1, j1 + l2), strict=True))
            else:
                only_a.extend(range(i1 + k1, i1 + k2))
                only_b.extend(range(j1 + l1, j1 + l2))
    return pairs, only_a, only_b


def compare_streams(
    legacy: dict[str, Any],
    candidate: dict[str, Any],
    *,
    normalise: Normalise,
    float_tolerance: float = 0.0,
    unordered: bool = False,
    coalesce: bool = True,
) -> list[Difference]:
    """Every difference between two stream records (see the module docstring)."""
    out: list[Difference] = []
    a = _events(legacy, normalise, coalesce=coalesce)
    b = _events(candidate, normalise, coalesce=coalesce)
    if unordered:
        a.sort(key=_full)
        b.sort(key=_full)
    pairs, only_a, only_b = _pairs(a, b)
    for i, j in pairs:
        for d in diff(a[i], b[j], float_tolerance=float_tolerance):
            out.append(Difference(d.kind, f"$.events[{i}]{d.path[1:]}", d.legacy, d.candidate))
    extra: dict[bytes, list[int]] = {}
    for j in only_b:
        extra.setdefault(_full(b[j]), []).append(j)
    for i in only_a:
        moved = extra.get(_full(a[i]))
        if moved:
            j = moved.pop(0)
            out.append(Difference("event-order", f"$.events[{i}]", f"position {i}", f"position {j}"))
            only_b.remove(j)
        else:
            out.append(Difference("event-missing", f"$.events[{i}]", bounded(a[i]), None))
    for j in only_b:
        out.append(Difference("event-extra", f"$.events[{j}]", None, bounded(b[j])))
    if len(a) != len(b):
        out.append(Difference("changed", "$.count", len(a), len(b)))
    close_a, close_b = legacy.get("close") or {}, candidate.get("close") or {}
    for key in ("code", "reason"):
        if close_a.get(key) != close_b.get(key):
            out.append(Difference("changed", f"$.close.{key}", close_a.get(key), close_b.get(key)))
    if legacy.get("malformed_lines") != candidate.get("malformed_lines"):
        out.append(
            Difference(
                "changed",
                "$.malformed_lines",
                legacy.get("malformed_lines"),
                candidate.get("malformed_lines"),
            )
        )
    if legacy.get("body") != candidate.get("body"):  # neither answered with a stream
        out.append(Difference("body", "$.body", bounded(legacy.get("body")), bounded(candidate.get("body"))))
    return out
