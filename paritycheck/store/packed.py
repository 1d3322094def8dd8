"""An outcome as the store writes it: the plain tuple that the writer reads and the writer child receives.

The store needs a few fields of an :class:`~paritycheck.models.Outcome` (not the exchange's recorded
answer nor a stream's messages), so :func:`pack` copies those into flat tuples once. The writer builds
its rows from that tuple whether it writes in this process or in the writer child, which then never
rebuilds the dataclasses it would only read (measured: a third of the child's CPU per pair went to
framing and rebuilding, docs/benchmarks.md). Tuples also pickle several times cheaper than slotted
dataclasses.

Layout (:data:`Packed`)::

    (source, entry, (method, url, path, query, headers, body), endpoint, status, reason,
     legacy, candidate, legacy again, differences, noise)

with the request's fields in :class:`~paritycheck.models.Request`'s order (the writer finds the
request's own secrets, ``redact.request_secrets``, in all of them), each reply
``(status, elapsed_ms, headers, body, error)`` or None, and each difference
``(kind, path, legacy, candidate, legacy_path, candidate_path)``, the order of
:class:`~paritycheck.models.Difference`'s fields.
"""

from __future__ import annotations

from typing import Any

from paritycheck.models import Difference, Outcome, Reply

__all__ = ["Packed", "PackedDifference", "PackedReply", "pack", "pack_differences"]

Packed = tuple[Any, ...]
PackedReply = tuple[int, float, tuple[tuple[str, str], ...], bytes, str | None]
PackedDifference = tuple[str, str, Any, Any, str | None, str | None]


def _reply(reply: Reply | None, same_body: bytes | None = None) -> PackedReply | None:
    if reply is None:
        return None
    body = reply.body
    # Equal bodies (the common case: matching pairs) travel as one object: pickle writes it once and
    # the writer redacts, digests and compresses it once.
    if same_body is not None and body == same_body:
        body = same_body
    return (reply.status, reply.elapsed_ms, reply.headers, body, reply.error)


def pack_differences(differences: tuple[Difference, ...]) -> tuple[PackedDifference, ...]:
    return tuple(
        (d.kind, d.path, d.legacy, d.candidate, d.legacy_path, d.candidate_path) for d in differences
    )


def pack(outcome: Outcome) -> Packed:
    """The fields of ``outcome`` the store writes, as plain tuples (see the module docstring)."""
    exchange = outcome.exchange
    request = exchange.request
    legacy = outcome.legacy
    legacy_body = legacy.body if legacy is not None else None
    return (
        exchange.source,
        exchange.index,
        (request.method, request.url, request.path, request.query, request.headers, request.body),
        outcome.endpoint,
        outcome.status.value,
        outcome.reason,
        _reply(legacy),
        _reply(outcome.candidate, legacy_body),
        _reply(outcome.legacy_again, legacy_body),
        pack_differences(outcome.differences) if outcome.differences else (),
        pack_differences(outcome.noise) if outcome.noise else (),
    )
