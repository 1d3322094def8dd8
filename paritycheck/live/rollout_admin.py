"""The rollout verdict on a live listener's ``--admin`` port, for the controllers that move traffic.

- ``GET /rollout/verdict`` (``?step=N``): the verdict as ``rollout status --json`` prints it, always
  200, for an Argo Rollouts ``web`` metric's ``successCondition``; ``step`` says which step the
  controller is at, and it is recorded as begun the first time it is heard of.
- ``POST /flagger/<hook>``: Flagger's ``confirm-rollout``, ``confirm-traffic-increase``,
  ``confirm-promotion`` and ``rollback`` webhooks, answered by status code (rollout/controllers.py).

The verdict is judged from the store in a worker thread (its own connection), at most every
:data:`FRESH_SECONDS` (controllers poll, and a verdict reads every window of the step), and again at
once after a step begins or a window of the listener closes. :func:`register` adds the routes to the
admin application.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from paritycheck.config import Config
from paritycheck.errors import ParitycheckError
from paritycheck.gate import accepted
from paritycheck.rollout import (
    FLAGGER_HOOKS,
    RolloutVerdict,
    argo_answer,
    check_payload,
    flagger_answer,
    judge,
    record,
    start_step,
)
from paritycheck.store import StepRecord, Store

__all__ = ["FRESH_SECONDS", "RolloutAdmin", "register"]

#: A verdict is judged again when it is older than this (seconds).
FRESH_SECONDS = 2.0


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, indent=2))


class RolloutAdmin:
    """Judges the current step for the admin routes, cached briefly and computed off the event loop."""

    def __init__(
        self,
        config: Config,
        db: Path | str,
        *,
        fresh: float = FRESH_SECONDS,
        state: Callable[[], object] = lambda: None,
    ) -> None:
        self.config = config
        self.db = db
        self.fresh = fresh
        #: What the listener knows changes the verdict (its closed windows): a change judges again at once.
        self.state = state
        self._lock = asyncio.Lock()
        self._cached: tuple[float, object, RolloutVerdict | None, StepRecord | None] | None = None

    def _judge(
        self, step: int | None, source: dict[str, Any], force: bool
    ) -> tuple[RolloutVerdict | None, StepRecord | None]:
        known = accepted.load(self.config.gate.known_differences, missing_ok=True)
        with Store.open(self.db) as store:
            now = store.current_step()
            if step is not None and (force or now is None or now.step != step):
                now = start_step(store, self.config, str(step), source=source)
            if now is None:
                return None, None
            verdict = judge(store, self.config, known=known)
            record(store, verdict)
            return verdict, now

    async def current(
        self, *, step: int | None = None, source: dict[str, Any] | None = None, force: bool = False
    ) -> tuple[RolloutVerdict | None, StepRecord | None]:
        """The verdict on the current step (None before one began) and that step; with ``step``, that
        step is recorded as begun first unless it is the current one (``force``: even then)."""
        async with self._lock:
            cached, state = self._cached, self.state()
            fresh = cached is not None and cached[1] == state and time.monotonic() - cached[0] < self.fresh
            if step is None and cached is not None and fresh:
                return cached[2], cached[3]
            verdict, now = await asyncio.to_thread(self._judge, step, source or {}, force)
            self._cached = (time.monotonic(), state, verdict, now)
            return verdict, now

    async def argo(self, request: web.Request) -> web.Response:
        text = request.query.get("step")
        steps = len(self.config.rollout.step)
        step = None
        if text is not None:
            if not text.isdigit() or not 1 <= int(text) <= steps:
                return _json({"error": f"step must be a number from 1 to {steps}, not {text!r}"}, 400)
            step = int(text)
        try:
            verdict, _ = await self.current(step=step, source={"by": "argo"})
        except ParitycheckError as exc:
            return _json({"error": exc.message, "hint": exc.hint}, 503)
        return _json(argo_answer(verdict))

    async def flagger(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        if hook not in FLAGGER_HOOKS:
            return _json({"error": f"no Flagger hook {hook!r}", "hooks": list(FLAGGER_HOOKS)}, 404)
        try:
            payload = await request.json()
        except ValueError:
            return _json({"error": "the body is not JSON"}, 400)
        problem = check_payload(payload)
        if problem is not None:
            return _json({"error": problem}, 400)
        try:
            verdict, now = await self.current()
        except ParitycheckError as exc:
            return _json({"error": exc.message, "hint": exc.hint}, 503)
        answer = flagger_answer(hook, payload, verdict, record=now, steps=len(self.config.rollout.step))
        if answer.start is not None:
            keys = ("name", "namespace", "checksum", "phase")
            source = {"by": "flagger", "hook": hook, **{k: payload.get(k) for k in keys if k in payload}}
            self._cached = None
            await self.current(step=answer.start, source=source, force=True)
        return _json(answer.body, answer.status)


def register(
    app: web.Application, config: Config, db: Path | str, *, state: Callable[[], object] = lambda: None
) -> RolloutAdmin:
    """Add the rollout routes to a listener's admin application; ``state()`` changes when its windows do."""
    admin = RolloutAdmin(config, db, state=state)
    app.router.add_get("/rollout/verdict", admin.argo)
    app.router.add_post("/flagger/{hook}", admin.flagger)
    return admin
