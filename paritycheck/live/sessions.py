"""Sessions for shadowed live requests: per-backend logins and generated values, as ``replay`` has them.

A live request was sent with the credentials and ids of the backend the client talks to. The shadow
must send the candidate its own: its own ``[auth]`` token, and the ids, slugs and tokens the candidate
generated earlier in the same client session where the legacy's appear. The *reference* answer, whose
generated values the client goes on to send, is the legacy's: in proxy mode the one the client got; in
mirror mode the legacy shadow instance's (the production answer is never seen by the sink).

Sessions are keyed as in replay (``[sessions] key``: the ``Authorization`` value and session cookies by
default), and a request sending a distinctive value that an earlier answer generated (a login's token)
joins that answer's session. Live traffic never ends, so the table is bounded: at most ``max_sessions``
sessions (least recently used forgotten first), each forgotten ``ttl`` seconds after its last request,
and at most ``max_values`` learned values per backend and session. See docs/live.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from paritycheck.config import Config
from paritycheck.models import Difference, Exchange, Recorded, Reply, Request
from paritycheck.replay import Engine
from paritycheck.session import Group, Produced, SessionReplay

__all__ = ["LiveSessions", "Turn"]

MAX_SESSIONS = 10_000
SESSION_TTL = 1800.0
MAX_VALUES = 1000
#: Recent writes remembered (with their session markers) to tell whether a noise re-ask is stale.
RECENT_WRITES = 4096


@dataclass(slots=True, eq=False)
class _Write:
    """A write the legacy answered: its place in offer order, and its request (markers read lazily)."""

    seq: int
    exchange: Exchange
    markers: frozenset[Hashable] | None = None


@dataclass(slots=True, eq=False)
class _Session:
    group: Group
    seen: float
    #: The completion of the latest shadow of this session once it is ordered (from its first write on).
    tail: asyncio.Event | None = None
    #: Reads started before the session's first write, still running: that write waits for them.
    running: set[asyncio.Event] = field(default_factory=set)
    #: Why a write of this session never reached the candidate (dropped, sampled out, over the rate).
    lost: str | None = None


def enabled(config: Config) -> bool:
    """Whether live shadows need sessions: as in replay, on unless ``[sessions] key = "none"`` and no
    ``[auth]`` or ``[[correlate]]`` is configured."""
    return config.sessions.key != "none" or bool(config.auth.path) or bool(config.correlate)


class LiveSessions:
    """Bounded per-client sessions of a live listener; :meth:`turn` takes each shadow in queue order."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        *,
        mode: str,
        max_sessions: int = MAX_SESSIONS,
        ttl: float = SESSION_TTL,
        max_values: int = MAX_VALUES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = SessionReplay(config, engine)
        self.engine = engine
        self.mode = mode
        # The proxy's legacy request carries the client's own credentials: only the candidate logs in.
        self.sides: tuple[str, ...] = ("candidate",) if mode == "proxy" else ("legacy", "candidate")
        self.max_sessions = max(1, max_sessions)
        self.ttl = ttl
        self.max_values = max(1, max_values)
        self.clock = clock
        self._sessions: OrderedDict[int, _Session] = OrderedDict()
        self._by_marker: OrderedDict[Hashable, int] = OrderedDict()
        self._by_value: OrderedDict[str, int] = OrderedDict()
        self._next = 0
        self._any_produced = False
        self.started = 0
        self.forgotten = 0
        # Writes the legacy answered so far (in offer order), the recent ones with their markers, and
        # for each read still queued how many writes came before its answer: see Turn.stale.
        self._writes = 0
        self._recent: deque[_Write] = deque(maxlen=RECENT_WRITES)
        self._stamps: OrderedDict[int, int] = OrderedDict()
        self._forgotten_write = 0  # the latest write that fell out of the recent ones
        self.stale_reasks = 0

    async def start(self) -> None:
        """Log in with ``[auth]`` (the candidate; in mirror mode both backends). Never runs reset commands:
        live backends hold real data."""
        if self.core.login is not None:
            await self.core.login.start(self.sides)

    # -- which session (synchronous, in the order shadows leave the queue)

    def _expire(self, now: float) -> None:
        while self._sessions:
            gid, oldest = next(iter(self._sessions.items()))
            if len(self._sessions) <= self.max_sessions and now - oldest.seen <= self.ttl:
                break
            del self._sessions[gid]
            self.forgotten += 1
        # The indexes only point at sessions; entries for forgotten ones are dropped as they are met.
        for index in (self._by_marker, self._by_value):
            while len(index) > 4 * self.max_sessions:
                index.popitem(last=False)

    def _find(self, index: OrderedDict[Any, int], key: Hashable) -> _Session | None:
        gid = index.get(key)
        if gid is None:
            return None
        session = self._sessions.get(gid)
        if session is None:
            del index[key]
        return session

    def _session(self, exchange: Exchange) -> tuple[_Session, list[Hashable]]:
        now = self.clock()
        self._expire(now)
        markers = self.core.grouper.markers(exchange)
        session = next((s for m in markers if (s := self._find(self._by_marker, m)) is not None), None)
        if session is None and self._any_produced:
            for value in self.core.sent_values(exchange.request):
                session = self._find(self._by_value, value)
                if session is not None:
                    break
        if session is None:
            self._next += 1
            self.started += 1
            session = _Session(Group(self._next, str(markers[0]) if markers else "live"), now)
        session.seen = now
        return session, markers

    def _keep(self, session: _Session, markers: list[Hashable]) -> None:
        """Remember ``session`` (most recently used) under its markers."""
        gid = session.group.id
        self._sessions[gid] = session
        self._sessions.move_to_end(gid)
        for m in markers:
            self._by_marker[m] = gid
            self._by_marker.move_to_end(m)
        while len(self._sessions) > self.max_sessions:  # the least recently used is forgotten
            self._sessions.popitem(last=False)
            self.forgotten += 1

    def _index(self, session: _Session, produced: list[Produced]) -> None:
        if not produced:
            return
        self._any_produced = True
        session.group.remember(session.group.id, produced)
        self._keep(session, [])
        for p in produced:
            if p.strong:
                self._by_value[p.value] = session.group.id
                self._by_value.move_to_end(p.value)

    def offered(self, exchange: Exchange) -> None:
        """Note each request as the legacy's answer is offered (client order, on the client path: cheap).

        A write is counted with its session's markers; a read is stamped with the count so far."""
        if exchange.request.is_safe:
            self._stamps[id(exchange)] = self._writes
            if len(self._stamps) > 4 * RECENT_WRITES + 65536:  # reads skipped or dropped: never taken
                self._stamps.popitem(last=False)
            return
        self._writes += 1
        if self.core.grouper.enabled:
            if len(self._recent) == self._recent.maxlen:
                self._forgotten_write = self._recent[0].seq
            # Markers are read later, off the client path (parsing cookies costs ~35 us), and only if a
            # re-ask asks; the request without its body is kept for that.
            request = exchange.request
            bare = Request(request.method, "", request.path, request.query, request.headers, None)
            lite = Exchange(index=exchange.index, source=exchange.source, request=bare, page=exchange.page)
            self._recent.append(_Write(self._writes, lite))

    def lost(self, exchange: Exchange, reason: str) -> None:
        """A write that was not shadowed (``reason``): the candidate's state now lags the legacy's, so
        the session's later shadows are skipped instead of reported as differences it could not avoid."""
        if exchange.request.is_safe or not self.core.grouper.enabled:
            return
        session, markers = self._session(exchange)
        if markers or session.group.id in self._sessions:
            session.lost = session.lost or reason
            self._keep(session, markers)

    def turn(self, exchange: Exchange, endpoint: str, legacy: Reply | None) -> Turn:
        """The session of ``exchange`` and its place in it; call in queue order, before any await."""
        if not self.core.grouper.enabled:
            return Turn(self, exchange, endpoint, None, waits=[], done=None)
        session, markers = self._session(exchange)
        if markers:
            self._keep(session, markers)
        if session.lost is not None:
            turn = Turn(self, exchange, endpoint, session, waits=[], done=None)
            turn.skip = f"session incomplete: an earlier write was not shadowed ({session.lost})"
            return turn
        group = session.group
        done = asyncio.Event()
        waits: list[asyncio.Event] = []
        if not exchange.request.is_safe and not group.ordered:
            group.ordered = True
            waits.extend(session.running)  # the session's earlier reads finish first
        if group.ordered:
            if session.tail is not None:
                waits.append(session.tail)
            session.tail = done
        else:
            session.running.add(done)
        turn = Turn(self, exchange, endpoint, session, waits=waits, done=done)
        turn.markers = frozenset(markers)
        turn.stamp = self._stamps.pop(id(exchange), None)
        if legacy is not None:  # proxy: the values the client was given are known now
            turn.produced = self._produced(exchange, endpoint, legacy)
            self._index(session, turn.produced)
        return turn

    def _produced(self, exchange: Exchange, endpoint: str, legacy: Reply) -> list[Produced]:
        if legacy.error is not None or (exchange.request.is_safe and not self.core.rules):
            return []  # reads generate nothing unless a [[correlate]] rule says so (as in replay)
        recorded = Recorded(status=legacy.status, headers=legacy.headers, body=legacy.body)
        return self.core.produced(dataclasses.replace(exchange, recorded=recorded), endpoint)

    def _trim(self, group: Group) -> None:
        _halve(group.produced, self.max_values)
        for side in ("legacy", "candidate"):
            _halve(group.values[side], self.max_values)
            _halve(group.learned_at[side], self.max_values)
            _halve(group.reverse[side], self.max_values)

    def status(self) -> dict[str, Any]:
        """What /status shows under ``sessions``: the table's size and the correlation counters."""
        core = self.core
        return {
            "active": len(self._sessions),
            "started": self.started,
            "forgotten": self.forgotten,
            "limits": {"sessions": self.max_sessions, "ttl_seconds": self.ttl, "values": self.max_values},
            "correlations": {
                "learned": dict(sorted(core.learned.items())),
                "applied": dict(sorted(core.applied.items())),
                "differences_removed": dict(sorted(core.removed.items())),
            },
            "logins": dict(core.login.logins) if core.login is not None else None,
            "stale_reasks_skipped": self.stale_reasks,
        }


class Turn:
    """One shadow's place in its session: wait for the session's earlier shadows, send, learn, settle."""

    def __init__(
        self,
        sessions: LiveSessions,
        exchange: Exchange,
        endpoint: str,
        session: _Session | None,
        *,
        waits: list[asyncio.Event],
        done: asyncio.Event | None,
    ) -> None:
        self.sessions = sessions
        self.exchange = exchange
        self.endpoint = endpoint
        self.session = session
        self.group = session.group if session is not None else None
        self.waits = waits
        self.done = done
        self.produced: list[Produced] | None = None
        #: Set when the session lost a write: the shadow is not sent, and counted as skipped.
        self.skip: str | None = None
        #: The session's markers, and the writes answered before this request's answer (offer order).
        self.markers: frozenset[Hashable] = frozenset()
        self.stamp: int | None = None

    async def pair(self, legacy: Reply | None) -> tuple[Reply, Reply]:
        """The two replies: ``legacy`` given (proxy) or asked now (mirror); the candidate asked with its
        own token and values. Later shadows of the session wait until this one has learned its values."""
        core, request, group = self.sessions.core, self.exchange.request, self.group
        try:
            for waited in self.waits:
                await waited.wait()
            if legacy is None and core.login is None and not (group and _has_values(group)):
                # Nothing to substitute on either side: the engine's own pair is cheaper than two sends.
                legacy, candidate = await self.sessions.engine.pair(request)
            elif legacy is None:
                asked = await asyncio.gather(
                    core.send("legacy", request, group), core.send("candidate", request, group)
                )
                legacy, candidate = asked[0], asked[1]
            else:
                candidate = await core.send("candidate", request, group)
            if self.session is not None and group is not None:
                produced = self.produced
                if produced is None:  # mirror: the legacy shadow's answer is the reference
                    produced = self.sessions._produced(self.exchange, self.endpoint, legacy)
                    self.sessions._index(self.session, produced)
                if produced:
                    core.learn(group, produced, {"legacy": legacy, "candidate": candidate})
                    self.sessions._trim(group)
            return legacy, candidate
        finally:
            self._finish()

    def _finish(self) -> None:
        if self.done is not None:
            self.done.set()
            if self.session is not None:
                self.session.running.discard(self.done)
                if self.session.tail is self.done:
                    self.session.tail = None
            self.done = None

    def settle(self, differences: tuple[Difference, ...]) -> tuple[Difference, ...]:
        """Drop differences that are only each backend's own generated value for one reference value."""
        return self.sessions.core.settle(self.group, differences)

    def stale(self) -> bool:
        """Whether a write of this session reached the legacy after this request's answer: then asking
        the legacy again measures that write (a project deleted since), not noise, and is not done."""
        sessions = self.sessions
        if self.stamp is None or not self.markers or sessions._writes == self.stamp:
            return False
        for write in reversed(sessions._recent):
            if write.seq <= self.stamp:
                return False
            if write.markers is None:
                write.markers = frozenset(sessions.core.grouper.markers(write.exchange))
            if write.markers & self.markers:
                sessions.stale_reasks += 1
                return True
        if sessions._forgotten_write > self.stamp:  # too many writes since to tell: do not ask
            sessions.stale_reasks += 1
            return True
        return False

    async def again(self) -> Reply:
        """The legacy asked once more (noise calibration): as the client sent it in proxy mode, with the
        legacy shadow's own token and values in mirror mode."""
        request = self.exchange.request
        if self.sessions.mode == "proxy":
            return await self.sessions.engine.ask("legacy", request)
        return await self.sessions.core.send("legacy", request, self.group)

    def cancel(self) -> None:
        """Release the session's next shadow when this one never ran (cancelled or failed early)."""
        self._finish()


def _has_values(group: Group) -> bool:
    return bool(group.values["legacy"] or group.values["candidate"])


def _halve(table: dict[Any, Any], limit: int) -> None:
    """Forget the oldest half of ``table`` once it holds more than ``limit`` entries."""
    if len(table) > limit:
        for key in list(table)[: len(table) // 2]:
            del table[key]
