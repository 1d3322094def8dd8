"""Example exchanges for the reports: stored exchanges loaded by id, with both answers' bodies decoded
(cut at the body limit) and normalised with the run's own rules, so their paths match the differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.common import jsonparse
from paritycheck.common.endpoints import pattern_matches
from paritycheck.compare import Rules, media_type, stream_view
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.config import build as build_config
from paritycheck.errors import ConfigError
from paritycheck.models import STREAM_MEDIA, Difference, Headers, header
from paritycheck.store import Store, StoredExchange, StoredReply

__all__ = ["Body", "Example", "Side", "load_examples", "make_body", "rules_for"]


@dataclass(frozen=True, slots=True)
class Body:
    """A body as shown: decoded text (cut at the limit), its real size, and its JSON value if any."""

    text: str
    size: int
    cut: bool
    binary: bool
    content_type: str | None
    is_json: bool = False
    value: Any = None


@dataclass(frozen=True, slots=True)
class Side:
    """One backend's answer in an example exchange."""

    status: int | None
    ms: float | None
    headers: Headers
    body: Body | None
    error: str | None
    #: The body as it was compared (normalised by the run's rules); None when not JSON.
    normalised: Any = None
    has_normalised: bool = False


@dataclass(frozen=True, slots=True)
class Example:
    """One stored exchange, with its two answers, kept as an example of a difference group."""

    id: int
    seq: int
    source: str
    entry: int
    method: str
    url: str
    outcome: str
    reason: str | None
    request_headers: Headers
    request_body: Body | None
    legacy: Side | None
    candidate: Side | None
    differences: tuple[Difference, ...]


def rules_for(config: dict[str, Any], endpoint: str) -> Rules | None:
    """The normalisation rules a run applied to ``endpoint``, rebuilt from its stored configuration."""
    try:
        cfg = build_config(NormaliseConfig, dict(config.get("normalise") or {}), prefix="normalise")
        extra = [
            rule
            for raw in config.get("endpoint") or ()
            if pattern_matches(
                (rule := build_config(EndpointRule, dict(raw), prefix="endpoint")).match, endpoint
            )
        ]
        return Rules.from_config(cfg, extra)
    except (ConfigError, ValueError, TypeError, AttributeError):
        return None  # a run stored by another version: show the parsed bodies instead


def load_examples(
    store: Store, run_id: int, wanted: set[int], *, body_limit: int, config: dict[str, Any]
) -> dict[int, Example]:
    """Load the exchanges ``wanted`` (by id), scanning each endpoint's mismatched exchanges in order."""
    found: dict[int, Example] = {}
    if not wanted:
        return found
    bodies: dict[str, Body] = {}
    by_endpoint: dict[str, set[int]] = {}
    for endpoint, xid in store.db.execute(
        f"SELECT endpoint, id FROM exchanges WHERE id IN ({', '.join('?' * len(wanted))})", sorted(wanted)
    ).fetchall():
        by_endpoint.setdefault(endpoint, set()).add(xid)
    for endpoint, ids in by_endpoint.items():
        last = max(ids)
        rules = rules_for(config, endpoint)
        # Ids grow with arrival order, so the scan stops at the last example wanted.
        for x in store.exchanges(run_id, endpoint=endpoint, outcome="mismatched"):
            if x.id in ids:
                found[x.id] = _example(store, x, bodies, body_limit, rules)
            if x.id >= last:
                break
    return found


def _example(
    store: Store, x: StoredExchange, bodies: dict[str, Body], limit: int, rules: Rules | None
) -> Example:
    return Example(
        id=x.id,
        seq=x.seq,
        source=x.source,
        entry=x.entry,
        method=x.method,
        url=x.url,
        outcome=x.outcome.value,
        reason=x.reason,
        request_headers=x.request_headers,
        request_body=_body(store, x.request_body, header(x.request_headers, "content-type"), bodies, limit),
        legacy=_side(store, x.legacy, bodies, limit, rules),
        candidate=_side(store, x.candidate, bodies, limit, rules),
        differences=x.differences,
    )


def _side(
    store: Store, reply: StoredReply | None, bodies: dict[str, Body], limit: int, rules: Rules | None
) -> Side | None:
    if reply is None:
        return None
    ctype = header(reply.headers, "content-type")
    body = _body(store, reply.body, ctype, bodies, limit)
    normalised: Any = None
    has = False
    if body is not None and body.is_json:
        normalised, has = body.value, True
        if rules is not None:
            try:
                normalised = rules.apply(body.value)
            except (ValueError, TypeError, RecursionError):
                normalised = body.value
        if media_type(ctype) == STREAM_MEDIA and isinstance(body.value, dict):
            # A stream: its events as compared, so that $.events[i].data... paths mark the right lines.
            normalised = stream_view(body.value, rules.apply if rules is not None else lambda v: v)
    return Side(reply.status, reply.elapsed_ms, reply.headers, body, reply.error, normalised, has)


def _body(
    store: Store, digest: str | None, content_type: str | None, cache: dict[str, Body], limit: int
) -> Body | None:
    if digest is None:
        return None
    if digest in cache:
        return cache[digest]
    data = store.body(digest)
    cache[digest] = body = make_body(data, content_type, limit=limit)
    return body


def make_body(data: bytes, content_type: str | None, *, limit: int) -> Body:
    """Decode a body for display: JSON parsed when it is whole, text cut at ``limit`` bytes."""
    cut = len(data) > limit
    shown = data[:limit]
    try:
        text = shown.decode("utf-8")
        binary = False
    except UnicodeDecodeError as exc:
        # A cut may split a character: only a bad byte before the last 3 means binary.
        binary = not cut or exc.start < len(shown) - 3
        text = shown.decode("utf-8", errors="replace")
    if binary:
        printable = sum(1 for b in shown[:512] if b in b"\t\n\r" or 32 <= b < 127)
        binary = printable < 0.9 * min(len(shown), 512)
    if binary:
        return Body(text="", size=len(data), cut=cut, binary=True, content_type=content_type)
    if not cut:
        try:
            value = jsonparse.loads(data)
        except (ValueError, RecursionError):
            pass
        else:
            return Body(text, len(data), False, False, content_type, True, value)
    return Body(text, len(data), cut, False, content_type)
