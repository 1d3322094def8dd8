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
import json
import re
import zlib
from array import array
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paritycheck.capture import Selector, read_fast
from paritycheck.config import Config
from paritycheck.errors import CaptureError, ConfigError
from paritycheck.models import Exchange
from paritycheck.session import Grouper

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
#: Settings that change how fast a shard runs, never what it finds: shards may differ in them.
_SPEED = ("concurrency", "rate", "timeout")
_NONE, _GAP = -1, -2  # an entry without a session marker; an index the captures did not yield


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


def shard_meta(shard: Shard | None, name: str, value: Any) -> dict[str, Any]:
    """The meta patch recording ``value`` as the run's ``name``, or as this shard's own
    (``meta.shards.<name>.<index>``: the shards' are combined when read)."""
    return {name: value} if shard is None else {"shards": {name: {shard.key: value}}}


def rename_done(
    done: set[tuple[str, int]], stored: list[dict[str, str]], given: list[dict[str, str]]
) -> set[tuple[str, int]]:
    """Stored ``(source, entry)`` pairs named as the captures are named now (same digests, maybe moved)."""
    names = {str(old.get("name")): new["name"] for old, new in zip(stored, given, strict=False)}
    return {(names.get(source, source), entry) for source, entry in done}


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Split:
    """Every capture entry's session key, hashed (crc32 of its ``repr``), from one pass over the
    captures: entry ``i`` of ``source`` is in shard ``hashes[source][i] % n`` of ``n``.

    Worked out once by ``replay --workers`` (which reads the captures anyway to choose how many workers
    help) and handed to its workers, so that none reads the captures a second time to find its share.
    """

    #: The captures' sha256 digests: a worker uses a split only for the very same captures.
    digests: tuple[str, ...]
    hashes: dict[str, array[int]]
    #: The hashes of the entries that are replayed (not skipped by [replay] include/exclude/writes).
    work: array[int]
    #: Distinct session keys (a session of marked exchanges, an unmarked entry or capture).
    sessions: int

    def matching(self, captures: Sequence[dict[str, str]]) -> Split | None:
        """This split, if it was made of these very captures (their sha256 digests); else None."""
        return self if self.digests == tuple(c.get("digest") for c in captures) else None

    def hash_of(self, source: str, index: int) -> int | None:
        column = self.hashes.get(source)
        return column[index] if column is not None and 0 <= index < len(column) else None

    def shares(self, count: int) -> list[int]:
        """Entries to replay in each of ``count`` shards."""
        return _tally(self.work, count)

    def owned(self, count: int) -> list[int]:
        """Entries (replayed or skipped) in each of ``count`` shards: a shard with none has nothing to do."""
        out = [0] * count
        for column in self.hashes.values():
            for i, n in enumerate(_tally(column, count)):
                out[i] += n
        return out

    def save(self, path: Path) -> None:
        """One JSON line (digests, sessions, each column's source and length), then the columns' bytes:
        no pickle, so a file handed in is data and nothing else."""
        columns = [*self.hashes.items(), ("", self.work)]
        head = {
            "digests": list(self.digests),
            "sessions": self.sessions,
            "columns": [[source, len(column)] for source, column in columns],
        }
        with path.open("wb") as fh:
            fh.write(json.dumps(head).encode() + b"\n")
            for _, column in columns:
                fh.write(column.tobytes())

    @classmethod
    def load(cls, path: Path) -> Split | None:
        """A split saved by :meth:`save` (by the ``replay --workers`` command that started this worker);
        None when the file cannot be read as one (the worker then splits the captures itself)."""
        try:
            with path.open("rb") as fh:
                head = json.loads(fh.readline())
                columns = []
                for source, length in head["columns"]:
                    column = array("I")
                    column.fromfile(fh, int(length))
                    columns.append((str(source), column))
            *hashes, (_, work) = columns
            return cls(tuple(map(str, head["digests"])), dict(hashes), work, int(head["sessions"]))
        except (OSError, EOFError, ValueError, KeyError, TypeError):
            return None


def _tally(hashes: array[int], count: int) -> list[int]:
    out = [0] * count
    for value in hashes:
        out[value % count] += 1
    return out


class Splitter:
    """Decides which exchanges belong to one shard."""

    def __init__(
        self, config: Config, captures: Sequence[Path], shard: Shard, *, split: Split | None = None
    ) -> None:
        self.shard = shard
        grouper = Grouper(config.sessions.key)
        self.grouper = grouper if grouper.enabled else None
        self._root: dict[Hashable, Hashable] = {}
        #: Capture files whose exchanges without a marker include a replayed write.
        self._ordered: set[str] = set()
        self.split = split
        if split is None and self.grouper is not None and shard.count > 1:
            self.split = self.scan(config, captures)

    def scan(self, config: Config, captures: Sequence[Path], digests: Sequence[str] = ()) -> Split:
        """Read the captures once and hash every entry's session key (:class:`Split`)."""
        selector = Selector(
            include=config.replay.include,
            exclude=config.replay.exclude,
            allow_writes=config.replay.allow_writes,
        )
        firsts: dict[Hashable, int] = {}  # each exchange's first marker, numbered
        columns: dict[str, array[int]] = {}  # per entry: its first marker's number, or _NONE, or _GAP
        replayed: dict[str, bytearray] = {}  # per entry: 1 when it is replayed, not skipped
        for exchange in _read(captures):
            markers = self.grouper.markers(exchange) if self.grouper is not None else []
            if markers:
                self._join([markers])
                first = firsts.setdefault(markers[0], len(firsts))
            else:
                first = _NONE
                if config.replay.allow_writes and not exchange.request.is_safe:
                    self._ordered.add(exchange.source)
            _put(columns.setdefault(exchange.source, array("i")), exchange.index, first)
            flags = replayed.setdefault(exchange.source, bytearray())
            _put(flags, exchange.index, selector.skip_reason(exchange) is None)
        by_first = {n: _crc(self._find(m)) for m, n in firsts.items()}
        hashes: dict[str, array[int]] = {}
        work = array("I")
        for source, column in columns.items():
            hashes[source] = out = array("I", bytes(4 * len(column)))
            for i, n in enumerate(column):
                out[i] = by_first[n] if n >= 0 else _crc(self._unmarked(source, i)) if n == _NONE else 0
            work.extend(h for h, flag in zip(out, replayed[source], strict=False) if flag)
        unmarked = sum(1 if s in self._ordered else c.count(_NONE) for s, c in columns.items() if _NONE in c)
        sessions = len({self._find(m) for m in firsts}) + unmarked
        return Split(tuple(digests), hashes, work, sessions)

    def _unmarked(self, source: str, index: int) -> Hashable:
        return ("default", source) if source in self._ordered else ("entry", source, index)

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
            return self._unmarked(exchange.source, exchange.index)
        return self._find(markers[0]) if self._root else markers[0]

    def mine(self, exchange: Exchange) -> bool:
        count = self.shard.count
        if count == 1:
            return True
        found = None if self.split is None else self.split.hash_of(exchange.source, exchange.index)
        value = _crc(self.key(exchange)) if found is None else found
        return value % count == self.shard.index - 1

    def filter(self, exchanges: Iterator[Exchange], done: set[tuple[str, int]]) -> Iterator[Exchange]:
        """This shard's exchanges, less those an interrupted attempt already stored."""
        for exchange in exchanges:
            if self.mine(exchange) and (exchange.source, exchange.index) not in done:
                yield exchange


def split_captures(config: Config, captures: Sequence[Path], digests: Sequence[str] = ()) -> Split:
    """Every entry's shard hash, from one pass (``replay --workers``: the workers then read no more)."""
    return Splitter(config, captures, Shard(1, 1, "split")).scan(config, captures, digests)


def _read(captures: Sequence[Path]) -> Iterator[Exchange]:
    """The captures' exchanges; a capture error ends the pass (the replay meets it and records it)."""
    for path in captures:
        try:
            yield from read_fast(path)
        except CaptureError:
            return


def _put(column: array[int] | bytearray, index: int, value: int) -> None:
    if index < len(column):
        column[index] = value
        return
    column.extend([_GAP if isinstance(column, array) else 0] * (index - len(column)))
    column.append(value)


def _crc(key: Hashable) -> int:
    return zlib.crc32(repr(key).encode())
