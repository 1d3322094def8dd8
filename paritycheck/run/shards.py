"""Splitting a capture into deterministic shards by session, and what every shard must agree on.

Shard ``i`` of ``n`` replays the exchanges whose session key hashes to ``i - 1`` (mod ``n``), so a session
is never cut and every process that reads the same capture computes the same split. The session key is
the one :mod:`paritycheck.session` groups by: with ``[sessions] key = "none"`` every exchange is its own
session; otherwise exchanges that share any marker (an Authorization value, a session cookie, a HAR
page, ...) are one session (a first pass over the capture joins them). Those with no marker form one
session per capture file when it replays a write among them (its order then matters); read-only ones
are split one by one, like ``key = "none"``. Sessions joined only by values generated during the
replay cannot be foreseen and are split by their markers.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paritycheck.capture import read_fast
from paritycheck.config import Config
from paritycheck.errors import ConfigError
from paritycheck.models import Exchange
from paritycheck.session import Grouper

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
#: Settings that change how fast a shard runs, never what it finds: shards may differ in them.
_SPEED = ("concurrency", "rate", "timeout")


@dataclass(frozen=True, slots=True)
class Shard:
    """Part ``index`` (1-based) of ``count`` of the capture, stored into the run called ``name``."""

    index: int
    count: int
    name: str

    @property
    def key(self) -> str:
        """The shard's key in the run's ``meta.shards`` tables."""
        return str(self.index)


def parse_shard(text: str, *, name: str | None) -> Shard:
    """``--shard I/N`` with ``--run-name NAME``, checked; a ConfigError names the fix."""
    match = _SHARD.match(text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ConfigError(f"--shard {text!r} is not I/N with 1 <= I <= N", hint="e.g. --shard 2/4")
    if not name:
        raise ConfigError(
            "--shard needs --run-name: the name that every shard's outcomes are stored under",
            hint="e.g. --shard 2/4 --run-name nightly-$GITHUB_RUN_ID",
        )
    return Shard(int(match[1]), int(match[2]), name)


def fingerprint(config_record: dict[str, Any], captures: list[dict[str, str]]) -> dict[str, Any]:
    """What every shard of a run must share: the capture digests and a digest of the effective rules."""
    rules = dict(config_record)
    if isinstance(rules.get("replay"), dict):
        rules["replay"] = {k: v for k, v in rules["replay"].items() if k not in _SPEED}
    text = repr(sorted(_canonical(rules).items()))
    return {
        "captures": [c["digest"] for c in captures],
        "rules": hashlib.sha256(text.encode()).hexdigest(),
    }


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


class Splitter:
    """Decides which exchanges belong to one shard."""

    def __init__(self, config: Config, captures: Sequence[Path], shard: Shard) -> None:
        self.shard = shard
        grouper = Grouper(config.sessions.key)
        self.grouper = grouper if grouper.enabled else None
        self._root: dict[Hashable, Hashable] = {}
        #: Capture files whose exchanges without a marker include a replayed write.
        self._ordered: set[str] = set()
        if self.grouper is not None and shard.count > 1:
            writes = config.replay.allow_writes
            for path in captures:
                self._join(self._scan(read_fast(path), writes=writes))

    def _scan(self, exchanges: Iterator[Exchange], *, writes: bool) -> Iterator[list[Hashable]]:
        assert self.grouper is not None
        for exchange in exchanges:
            markers = self.grouper.markers(exchange)
            if not markers and writes and not exchange.request.is_safe:
                self._ordered.add(exchange.source)
            yield markers

    def _find(self, marker: Hashable) -> Hashable:
        root = self._root.setdefault(marker, marker)
        while root != self._root[root]:
            root = self._root[root]
        self._root[marker] = root
        return root

    def _join(self, marker_lists: Iterable[list[Hashable]]) -> None:
        """Union the markers of each exchange; the first-seen marker of a session names it."""
        for markers in marker_lists:
            if len(markers) < 2:
                if markers:
                    self._find(markers[0])
                continue
            first = self._find(markers[0])
            for other in markers[1:]:
                root = self._find(other)
                if root != first:
                    self._root[root] = first

    def key(self, exchange: Exchange) -> Hashable:
        """The session an exchange belongs to, as the shard split sees it."""
        if self.grouper is None:
            return ("entry", exchange.source, exchange.index)
        markers = self.grouper.markers(exchange)
        if not markers:
            if exchange.source in self._ordered:
                return ("default", exchange.source)
            return ("entry", exchange.source, exchange.index)
        return self._find(markers[0]) if self._root else markers[0]

    def mine(self, exchange: Exchange) -> bool:
        if self.shard.count == 1:
            return True
        return zlib.crc32(repr(self.key(exchange)).encode()) % self.shard.count == self.shard.index - 1

    def filter(self, exchanges: Iterator[Exchange], done: set[tuple[str, int]]) -> Iterator[Exchange]:
        """This shard's exchanges, less those an interrupted attempt already stored."""
        for exchange in exchanges:
            if self.mine(exchange) and (exchange.source, exchange.index) not in done:
                yield exchange
