"""The session-aware replay: grouping and ordering, per-backend values and tokens, fresh state.

The runner hands every replayable ``(exchange, endpoint)`` to :meth:`SessionReplay.session_of` in capture
order (the scheduler's ``session_of``), then replays it with :meth:`SessionReplay.pair` and removes the
differences that are only each backend's own generated values with :meth:`SessionReplay.settle`.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any

from paritycheck.common.endpoints import parse_pattern, pattern_matches
from paritycheck.common.jsonpath import JsonPath, parse
from paritycheck.compare import Rules
from paritycheck.config import Config
from paritycheck.errors import ConfigError
from paritycheck.models import Difference, Exchange, Reply, Request
from paritycheck.replay import Engine
from paritycheck.session import correlate as cor
from paritycheck.session.auth import Login
from paritycheck.session.credentials import Credentials
from paritycheck.session.grouping import Group, Grouper
from paritycheck.session.reset import ResetResult, check, run_resets

__all__ = ["SessionReplay"]

Item = tuple[Exchange, str]
SIDES = ("legacy", "candidate")
_WORD_OR_NOT = re.compile(r"[\w\-~]+|[^\w\-~]+")
_MAX_INDEX = 1_000_000  # markers and linking values remembered; past this the oldest half is forgotten


@dataclass(slots=True)
class _Plan:
    seq: int
    group: Group
    key: Hashable | None
    waits: list[asyncio.Event] = field(default_factory=list)
    produced: list[cor.Produced] = field(default_factory=list)


class SessionReplay:
    """Session grouping, correlation, ``[auth]`` logins and resets for one run."""

    def __init__(self, config: Config, engine: Engine) -> None:
        source = config.source or "configuration"
        self.config = config
        self.engine = engine
        self.grouper = Grouper(config.sessions.key, source=source)
        self.auto = config.sessions.correlate
        self.rules: list[tuple[str, str, JsonPath | str]] = []
        for i, rule in enumerate(config.correlate):
            where = f"{source}: correlate[{i}]"
            if rule.match.strip() != "*":
                parse_pattern(rule.match, what=f"{where}.match")
            locator: JsonPath | str
            if rule.response.lower().startswith("header:"):
                locator = rule.response.partition(":")[2].strip().lower()
            else:
                try:
                    locator = parse(rule.response)
                except ValueError as exc:
                    raise ConfigError(
                        f"{where}.response is not a JSONPath or header:<name>: {exc}",
                        hint='e.g. response = "$.id" or response = "header:location"',
                    ) from None
            kind = rule.name or (
                cor.path_name(rule.response) or "value" if not isinstance(locator, str) else locator
            )
            self.rules.append((rule.match.strip(), kind, locator))
        self.login = (
            Login(config.auth, engine, normalise=config.normalise, source=source)
            if config.auth.path
            else None
        )
        self.credentials = Credentials(config.explore.credentials, source=source)
        self.norm = Rules(key_case="snake", envelope=config.normalise.envelope, timestamps=False)
        self._by_marker: dict[Hashable, Group] = {}
        self._by_value: dict[str, Group] = {}
        self._defaults: dict[str, Group] = {}
        self._plans: dict[int, _Plan] = {}
        self._groups = 0
        self._ordered = 0
        self._seq = 0
        self._any_produced = False
        self.learned: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.writes = {"legacy": 0, "candidate": 0}
        self.resets: list[ResetResult] = []

    # -- before the replay

    async def prepare(self) -> None:
        """Run the reset commands, then the ``[auth]`` logins; raise BackendError if either fails."""
        self.resets = await run_resets(self.config.backends, timeout=self.config.sessions.reset_timeout)
        check(self.resets)
        if self.login is not None:
            await self.login.start()

    # -- grouping (called in capture order)

    def _new_group(self, name: str) -> Group:
        self._groups += 1
        return Group(self._groups, name)

    def _group(self, exchange: Exchange, values: list[tuple[str, bool]]) -> Group:
        markers = self.grouper.markers(exchange)
        group = next((self._by_marker[m] for m in markers if m in self._by_marker), None)
        if group is None:
            group = next((self._by_value[v] for v, _ in values if v in self._by_value), None)
        if group is None:
            if markers:
                group = self._new_group(str(markers[0]))
            else:
                group = self._defaults.get(exchange.source)
                if group is None:
                    group = self._defaults[exchange.source] = self._new_group(f"capture {exchange.source}")
        if len(self._by_marker) > _MAX_INDEX:
            _forget_half(self._by_marker)
        for m in markers:
            self._by_marker.setdefault(m, group)
        return group

    def _produced(self, exchange: Exchange, endpoint: str) -> list[cor.Produced]:
        recorded = exchange.recorded
        if recorded is None:
            return []
        rules = [
            (kind, loc) for match, kind, loc in self.rules if match == "*" or pattern_matches(match, endpoint)
        ]
        # Reads do not generate values: learning from them would chase a wrong id in a GET as if generated.
        auto = self.auto and not exchange.request.is_safe
        if not rules and not auto:
            return []
        needs_body = auto or any(not isinstance(loc, str) for _, loc in rules)
        doc = cor.normalised(self.norm, recorded.body) if needs_body else None
        return cor.produced_values(
            recorded.status, recorded.headers, doc, path=exchange.request.path, auto=auto, rules=rules
        )

    def session_of(self, item: Item) -> Hashable | None:
        """The scheduler key of ``item``: its session once that session has written, else None."""
        exchange, endpoint = item
        if not self.grouper.enabled:
            return None
        self._seq += 1
        # Request values only ever match values produced earlier in the run: none yet, nothing to scan.
        values = list(cor.request_values(exchange.request)) if self._any_produced else []
        group = self._group(exchange, values)
        plan = _Plan(self._seq, group, None)
        if not exchange.request.is_safe and not group.ordered:
            group.ordered = True
            self._ordered += 1
            plan.waits.extend(group.pending.values())  # earlier reads of the session finish first
        if group.ordered:
            plan.key = ("session", group.id)
        else:
            for value, at_id in values:
                hit = group.produced.get(value)
                if hit is not None and (hit[1].strong or at_id) and hit[0] in group.pending:
                    plan.waits.append(group.pending[hit[0]])
            group.pending[plan.seq] = asyncio.Event()
        plan.produced = self._produced(exchange, endpoint)
        if plan.produced:
            self._any_produced = True
            group.remember(plan.seq, plan.produced)
            if len(self._by_value) > _MAX_INDEX:
                _forget_half(self._by_value)
            for p in plan.produced:
                if p.strong:
                    self._by_value[p.value] = group
        self._plans[id(exchange)] = plan
        return plan.key

    # -- replaying

    async def pair(
        self, exchange: Exchange, endpoint: str, *, again: str | None = None
    ) -> tuple[Reply, Reply, Reply | None, Group | None]:
        """Send ``exchange`` to both backends with each one's own values and token; learn new values.

        ``again`` names a side (``legacy`` or ``legacy_secondary``) to also ask with the legacy's request,
        for noise calibration. Returns ``(legacy, candidate, again reply or None, session)``.
        """
        plan = self._plans.pop(id(exchange), None)
        if plan is None and self.grouper.enabled:
            self.session_of((exchange, endpoint))
            plan = self._plans.pop(id(exchange))
        try:
            if plan is not None:
                for waited in plan.waits:
                    await waited.wait()
            group = plan.group if plan is not None else None
            if (
                again is None
                and self.login is None
                and not self.credentials.configured
                and (group is None or not (group.values["legacy"] or group.values["candidate"]))
            ):
                # Nothing to substitute on either side: the engine's own pair is cheaper than two asks.
                if not exchange.request.is_safe:
                    for side in ("legacy", "candidate"):
                        self.writes[side] = self.writes.get(side, 0) + 1
                legacy, candidate = await self.engine.pair(exchange.request)
                if plan is not None and plan.produced:
                    self._learn(plan, {"legacy": legacy, "candidate": candidate})
                return legacy, candidate, None, group
            sends = [
                self._send("legacy", exchange.request, group),
                self._send("candidate", exchange.request, group),
            ]
            if again is not None:
                sends.append(self._send("legacy", exchange.request, group, side=again))
            replies = await _all(sends)
            legacy, candidate = replies[0], replies[1]
            if plan is not None and plan.produced:
                self._learn(plan, {"legacy": legacy, "candidate": candidate})
            return legacy, candidate, replies[2] if again is not None else None, group
        finally:
            if plan is not None:
                event: asyncio.Event | None = plan.group.pending.pop(plan.seq, None)
                if event is not None:
                    event.set()

    def _learn(self, plan: _Plan, replies: dict[str, Reply]) -> None:
        group = plan.group
        new: set[str] = set()
        for side, reply in replies.items():
            doc = cor.normalised(self.norm, reply.body)
            for learned in cor.learn(plan.produced, reply, doc):
                # The earliest exchange's value wins: a later object with the same captured id (a comment
                # 1 after a project 1) must not redirect requests about the first.
                if group.learn(side, (learned.resource, learned.captured), learned.value, index=plan.seq):
                    new.add(f"{learned.kind}\0{learned.resource}\0{learned.captured}")
                group.learn(side, ("*", learned.captured), learned.value, index=plan.seq)
                group.answered(side, str(learned.value), learned.captured)
        for item in new:
            self.learned[item.partition("\0")[0]] += 1

    async def _send(
        self, values: str, request: Request, group: Group | None, *, side: str | None = None
    ) -> Reply:
        """Send ``request`` to ``side`` (default: ``values``) with the values and token of ``values``."""
        side = side or values
        if group is not None and group.values[values]:
            request = cor.rewrite(request, self._replacer(group, values, count=side == values))
        sent, used = self._authorise(values, request)
        write = not request.is_safe
        self.writes[side] = self.writes.get(side, 0) + write
        reply = await self.engine.ask(side, sent)
        if (
            reply.status == 401
            and used is not None
            and self.login is not None
            and await self.login.refresh(values, used)
        ):
            sent, _ = self._authorise(values, request)
            self.writes[side] += write
            reply = await self.engine.ask(side, sent)
        return reply

    def _authorise(self, side: str, request: Request) -> tuple[Request, str | None]:
        """``request`` with ``side``'s credentials (placeholders, else the login's token); the token used."""
        if Credentials.holds(request):
            token = self.login.tokens.get(side) if self.login is not None else None
            return self.credentials.fill(side, request, token=token)
        if self.login is not None:
            return self.login.apply(side, request)
        return request, None

    def _replacer(self, group: Group, side: str, *, count: bool = True) -> cor.Replace:
        mapping = group.values[side]

        def replace(text: str, place: str | None) -> str | int | None:
            hit = group.produced.get(text)
            kind, is_strong = (hit[1].kind, hit[1].strong) if hit else ("id", cor.strong(text))
            if is_strong or place == "":
                new = mapping.get(("*", text))
            elif place is None:
                return None
            else:
                # A number or short value is swapped only where it identifies the same kind of thing.
                new = mapping.get((place, text), mapping.get(("", text)))
            if new is None or cor.scalar_text(new) == text:
                return None
            if count:
                self.applied[kind] += 1
            return new if isinstance(new, str | int) else str(new)

        return replace

    # -- judging

    def settle(self, group: Group | None, differences: tuple[Difference, ...]) -> tuple[Difference, ...]:
        """``differences`` without those where each backend shows its own value for one captured value."""
        if group is None or not differences or not (group.reverse["legacy"] or group.reverse["candidate"]):
            return differences
        kept = []
        for d in differences:
            kind = self._correlated(group, d)
            if kind is None:
                kept.append(d)
            else:
                self.removed[kind] += 1
        return tuple(kept) if len(kept) != len(differences) else differences

    def _correlated(self, group: Group, d: Difference) -> str | None:
        if d.kind not in ("changed", "type", "header"):
            return None
        if d.kind == "header" and d.path not in ("header:location", "header:content-location"):
            return None
        captured = _agree(
            _undo(group.reverse["legacy"], d.legacy), _undo(group.reverse["candidate"], d.candidate)
        )
        if captured is None:
            return None
        produced = group.produced.get(captured)
        name = cor.path_name(d.path)
        if d.kind != "header" and not (
            (name is not None and cor.id_like(name)) or cor.strong(captured) or produced is not None
        ):
            return None
        if produced is not None:
            return produced[1].kind
        return "location" if d.kind == "header" else cor.kind_of(name or "id")

    # -- after the replay

    def meta(self) -> dict[str, Any]:
        """What the run's ``meta`` records under ``sessions`` (docs/sessions.md)."""
        return {
            "key": self.config.sessions.key,
            "count": self._groups,
            "ordered": self._ordered,
            "correlations": {
                "learned": dict(sorted(self.learned.items())),
                "applied": dict(sorted(self.applied.items())),
                "differences_removed": dict(sorted(self.removed.items())),
            },
            "writes": dict(self.writes),
            "logins": dict(self.login.logins) if self.login is not None else None,
            "resets": [r.to_json() for r in self.resets],
        }

    # -- live traffic (live/sessions.py keeps its own bounded sessions and calls these)

    def produced(self, exchange: Exchange, endpoint: str) -> list[cor.Produced]:
        """The values ``exchange``'s recorded answer generated (by a rule, or automatically for a write)."""
        return self._produced(exchange, endpoint)

    def learn(self, group: Group, produced: list[cor.Produced], replies: dict[str, Reply]) -> None:
        """Learn each backend's own value, from its reply, for the values ``produced`` in ``group``."""
        self._learn(_Plan(0, group, None, produced=produced), replies)

    def sent_values(self, request: Request) -> list[str]:
        """Every value ``request`` sends (path, query, headers, JSON body): what ties it to a producer."""
        return [value for value, _ in cor.request_values(request)]

    async def send(self, side: str, request: Request, group: Group | None) -> Reply:
        """Send ``request`` to ``side`` with that backend's own values and token (log in again on 401)."""
        return await self._send(side, request, group)


#: A value as its parts: text kept as it is, or the captured values a backend's own value stands for.
Undone = tuple[str | frozenset[str], ...]


def _alternatives(found: str | frozenset[str]) -> frozenset[str]:
    return frozenset((found,)) if isinstance(found, str) else found


def _undo(reverse: dict[str, str | frozenset[str]], value: Any) -> Undone | None:
    """``value`` with each backend-generated part replaced by the captured values it answered.

    A whole value, the segments of a path or URL, or the words of a message ("Project 1001 was not
    found.", "Bearer <token>"). None for what is no scalar.
    """
    text = cor.scalar_text(value)
    if text is None:
        return None
    whole = reverse.get(text)
    if whole is not None:
        return (_alternatives(whole),)
    if "/" in text:
        parts = cor.location_parts(text)
    elif len(text) > 2000:
        return (text,)
    else:
        parts = _WORD_OR_NOT.findall(text)
    return tuple(_alternatives(reverse[p]) if p in reverse else p for p in parts)


def _agree(legacy: Undone | None, candidate: Undone | None) -> str | None:
    """The first captured value that both sides' values stand for, when they agree part by part.

    None when they disagree, or when nothing was generated by either backend. Where a backend answered
    one value for several captured ones (tokens signed within one second), any one in common will do.
    """
    if legacy is None or candidate is None or len(legacy) != len(candidate):
        return None
    first: str | None = None
    for a, b in zip(legacy, candidate, strict=True):
        if isinstance(a, str) and isinstance(b, str):
            if a != b:
                return None
            continue
        common = (frozenset((a,)) if isinstance(a, str) else a) & (
            frozenset((b,)) if isinstance(b, str) else b
        )
        if not common:
            return None
        if first is None:
            first = min(common)
    return first


async def _all(sends: list[Coroutine[Any, Any, Reply]]) -> list[Reply]:
    """Await the sends concurrently; if one raises (or we are cancelled), cancel and await the rest."""
    tasks = [asyncio.ensure_future(send) for send in sends]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()
        raise


def _forget_half(index: dict[Any, Any]) -> None:
    for key in list(index)[: len(index) // 2]:
        del index[key]
