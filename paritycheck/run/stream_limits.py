"""The read limits of each stream request: ``[streams]``, overridden by its ``[[endpoint]]`` rules."""

from __future__ import annotations

from collections.abc import Callable

from paritycheck.common.endpoints import EndpointMatcher, pattern_matches
from paritycheck.config import Config
from paritycheck.models import Request
from paritycheck.replay import Limits

__all__ = ["stream_limits"]


def stream_limits(config: Config, matcher: EndpointMatcher) -> Callable[[Request], Limits]:
    """A function giving a request's :class:`Limits`; the last matching endpoint rule's value wins."""
    streams = config.streams
    default = Limits(
        max_events=streams.max_events,
        idle_seconds=streams.idle_seconds,
        max_seconds=streams.max_seconds,
        max_message_bytes=streams.max_message_bytes,
    )
    rules = [
        r
        for r in config.endpoint
        if r.max_events is not None or r.idle_seconds is not None or r.max_seconds is not None
    ]

    def limits(request: Request) -> Limits:
        if not rules:
            return default
        endpoint = matcher.endpoint(request.method, request.path)
        found = default
        for rule in rules:
            if pattern_matches(rule.match, endpoint):
                found = Limits(
                    max_events=rule.max_events or found.max_events,
                    idle_seconds=rule.idle_seconds or found.idle_seconds,
                    max_seconds=rule.max_seconds or found.max_seconds,
                    max_message_bytes=found.max_message_bytes,
                )
        return found

    return limits
