"""The mirror sink: answer each mirrored copy ``200`` with an empty body at once, then replay it.

Edges mirror fire-and-forget (Envoy ``request_mirror_policies``, Istio ``mirror``, nginx ``mirror``,
GoReplay ``--output-http``). Envoy appends ``-shadow`` to the Host of the copy; it is stripped so that
the backends see the original Host.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from itertools import count

from aiohttp import web

from paritycheck.live.handoff import ShadowTarget
from paritycheck.live.metrics import DROPPED_SHUTDOWN
from paritycheck.live.proxy import (
    NOT_ROUTED_TEXT,
    SKIP_BAD_BODY,
    SKIP_CLIENT_STALLED,
    SKIP_TOO_LARGE,
    live_exchange,
    refusal,
    refused_exchange,
)
from paritycheck.live.relay import chunks
from paritycheck.models import Exchange

SHADOW_SUFFIX = "-shadow"


def original_host(host: str | None) -> str | None:
    """Envoy's mirrored Host ``api.example.com-shadow:8080`` back to ``api.example.com:8080``."""
    if not host:
        return host
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if name.endswith(SHADOW_SUFFIX):
        return name[: -len(SHADOW_SUFFIX)] + colon + port
    return host


class Mirror:
    """An aiohttp handler that queues every mirrored request for both backends."""

    def __init__(
        self,
        shadow: ShadowTarget,
        *,
        max_body: int = 1024 * 1024,
        source: str = "mirror",
        record: Callable[[Exchange], None] | None = None,
        client_timeout: float | None = None,
    ) -> None:
        self.shadow = shadow
        self.client_timeout = client_timeout  # s a client may send nothing of its body
        self.record = record
        self.max_body = max_body
        self.source = source
        self._index = count()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not request.raw_path.startswith("/"):  # absolute-form and the like: no edge mirrors those
            self.shadow.offer(refused_exchange(request, index=next(self._index), source=self.source))
            return web.Response(status=400, text=NOT_ROUTED_TEXT)
        body = bytearray()
        too_large = False
        try:
            if request.body_exists:
                async for chunk in chunks(request.content, chunked=False, idle=self.client_timeout):
                    if not too_large:
                        body.extend(chunk)
                        if len(body) > self.max_body:
                            too_large = True
                            body.clear()
        except asyncio.CancelledError:  # the listener stops (--drain spent) mid-body: still accounted for
            self.shadow.offer(self._skipped(request, DROPPED_SHUTDOWN))
            raise
        except (TimeoutError, web.RequestPayloadError) as exc:  # stalled, or not readable: refused
            reason = SKIP_CLIENT_STALLED if isinstance(exc, TimeoutError) else SKIP_BAD_BODY
            self.shadow.offer(self._skipped(request, reason))
            return refusal(reason)
        exchange = live_exchange(
            request,
            bytes(body) if request.body_exists else None,
            index=next(self._index),
            source=self.source,
            host=original_host(request.headers.get("host")),
        )
        if too_large:
            exchange = dataclasses.replace(exchange, skip=SKIP_TOO_LARGE)
        self.shadow.offer(exchange)
        if self.record is not None and not too_large:  # --record: the mirrored request (no response)
            self.record(exchange)
        return web.Response(status=200)

    def _skipped(self, request: web.Request, reason: str) -> Exchange:
        exchange = live_exchange(request, None, index=next(self._index), source=self.source)
        return dataclasses.replace(exchange, skip=reason)
