"""How one ``replay`` command is carried out, decided before anything is sent: by this process alone, as
one shard of a named run, or by worker processes (how many, and how the work is split), new or resumed.

Resume, shards, workers and the default meet here, in one value (:class:`ReplayPlan`) made by
:func:`plan_replay` and then carried out: by :func:`paritycheck.run.replay_captures` in this process,
or by :func:`paritycheck.run.workers.replay_in_workers`.

Without ``--workers``, the number of workers is chosen from what is known once the captures are read
(:func:`choose_workers`):

- captures under 8 MiB: one process; a worker's start-up costs more than it gains;
- the free cores: the usable cores less the 1-minute load average. A worker needs two: one for its
  event loop, one for its capture-reader and store-writer children, which parse the whole capture and
  store its share. Backends on this host (loopback, this host's name) answer on the same cores, so
  each worker then needs a third;
- the sessions: the captures are read once and every entry's session key hashed (run/shards.py). N
  workers only when each gets entries and the work is shared evenly enough that N finish in at most
  ``1 / (0.75 N)`` of one process's time; else fewer, down to one process. One session: one process.

The plan says in words how the work was split (:attr:`ReplayPlan.note`), and the workers reuse the split
rather than each reading the captures again to find its share.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from paritycheck import capture
from paritycheck.config import Config
from paritycheck.errors import CaptureError, ConfigError
from paritycheck.run.resume import pick_run, unfinished_shards
from paritycheck.run.shards import Shard, Split, parse_shard, split_captures
from paritycheck.session import Grouper
from paritycheck.store import Store

__all__ = ["ReplayPlan", "backends_local", "choose_workers", "free_cores", "new_run_name", "plan_replay"]

#: Capture bytes per worker below which one process is faster (start-up, and each worker's own read).
MIN_BYTES_PER_WORKER = 4 * 1024 * 1024
MAX_DEFAULT_WORKERS = 8
#: N workers are chosen only if the largest share is at most 1 / (BALANCE * N) of the work.
BALANCE = 0.75
#: Cores a worker needs: its event loop, and its reader and writer children (docs/benchmarks.md).
CORES_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What one ``replay`` command does. ``workers`` empty: this process replays (alone, or as
    ``shard``); else one worker process per listed shard of ``count``, into the run called ``name``."""

    workers: tuple[int, ...] = ()
    count: int = 1
    #: The run's name: the sharded run the workers or this shard store into, or a new run's name.
    name: str | None = None
    shard: Shard | None = None
    #: Continue this stored run (``--resume``): in this process, or by re-running its unfinished shards.
    resume_run: int | None = None
    #: Every entry's shard hash, worked out while planning; handed to the workers.
    split: Split | None = None
    #: Shards of ``count`` that got no entry at all: never started, recorded complete.
    empty: tuple[int, ...] = ()
    #: How the work was split, in words (stderr); "" when there was nothing to decide.
    note: str = ""


def new_run_name() -> str:
    return f"workers-{uuid.uuid4().hex[:12]}"


def plan_replay(
    config: Config,
    captures: Sequence[Path],
    *,
    db: Path | str,
    workers: int | None = None,
    shard: str | None = None,
    run_name: str | None = None,
    resume: bool = False,
    resume_run: int | None = None,
) -> ReplayPlan:
    """The plan for ``replay`` with these options."""
    if shard is not None:
        if resume or resume_run is not None:
            raise ConfigError(
                "--resume and --shard cannot be combined",
                hint="run the shard again with the same command: it skips what it stored before",
            )
        part = parse_shard(shard, name=run_name)
        return ReplayPlan(count=part.count, name=part.name, shard=part)
    if resume or resume_run is not None:
        return _resumed(db, resume_run)
    if workers == 1:
        return ReplayPlan(name=run_name)
    if workers is None:
        count, split, note = choose_workers(config, captures)
        if count == 1:
            return ReplayPlan(name=run_name, note=note)
    else:
        count, split = workers, _split(config, captures)
        note = f"{count} worker processes (--workers {count}){_shares(split, count)}"
    owned = split.owned(count) if split is not None else [1] * count
    empty = tuple(i for i in range(1, count + 1) if not owned[i - 1])
    if empty:
        note += f"; {_listed(empty)} nothing to replay: not started"
    work = tuple(i for i in range(1, count + 1) if i not in empty)
    return ReplayPlan(work, count, run_name or new_run_name(), split=split, empty=empty, note=note)


def _resumed(db: Path | str, run_id: int | None) -> ReplayPlan:
    """Resume in this process, or, for a sharded run, by running its unfinished shards again."""
    with Store.open(db) as store:
        run = pick_run(store, run_id)
    shards = unfinished_shards(run)
    if not shards:
        return ReplayPlan(resume_run=run.id)
    count = int(run.meta["shards"]["count"])
    note = f"resuming run {run.id} ({run.name}): {_listed(shards)} of {count} run again"
    return ReplayPlan(tuple(shards), count, run.name, resume_run=run.id, note=note)


def choose_workers(config: Config, captures: Sequence[Path]) -> tuple[int, Split | None, str]:
    """The default number of workers, the split it rests on, and the reason in words (module docstring)."""
    try:
        size = sum(Path(p).stat().st_size for p in captures)
    except OSError:
        return 1, None, ""
    if size < 2 * MIN_BYTES_PER_WORKER:
        return 1, None, ""
    free, cores, load = free_cores()
    local = backends_local(config)
    need = CORES_PER_WORKER + local
    limit = min(MAX_DEFAULT_WORKERS, free // need, size // MIN_BYTES_PER_WORKER)
    if limit < 2:
        where = ", the backends answering on this host" if local else ""
        why = f"{free} of {cores} cores free (load {load:.1f}); two workers need {2 * need}{where}"
        return 1, None, f"one process: {why}"
    if not Grouper(config.sessions.key).enabled:
        return limit, None, f"{limit} worker processes: every entry is its own session ([sessions] key)"
    split = _split(config, captures)
    if split is None:
        return 1, None, ""  # the capture cannot be read: the replay says why
    for count in range(limit, 1, -1):
        shares = split.shares(count)
        if min(shares) > 0 and sum(shares) >= BALANCE * count * max(shares):
            return count, split, f"{count} worker processes{_shares(split, count)}"
    total = len(split.work)
    if split.sessions <= 1:
        return 1, split, f"one process: the {total:,} entries to replay are one session"
    largest = max(split.shares(2))
    return (
        1,
        split,
        f"one process: {split.sessions:,} sessions too uneven to share"
        f" (one of two workers would replay {largest:,} of {total:,} entries)",
    )


def _split(config: Config, captures: Sequence[Path]) -> Split | None:
    """The captures' split by session (None with ``[sessions] key = "none"``: entry by entry)."""
    if not Grouper(config.sessions.key).enabled:
        return None
    try:
        digests = [capture.digest(p) for p in captures]
    except (OSError, CaptureError):
        return None  # the workers meet it and say so
    return split_captures(config, list(captures), digests)


def _shares(split: Split | None, count: int) -> str:
    if split is None:
        return ""
    shares = " + ".join(f"{n:,}" for n in split.shares(count))
    return f": {split.sessions:,} sessions, split {shares} entries to replay"


def _listed(shards: Sequence[int]) -> str:
    return ("shards " if len(shards) > 1 else "shard ") + ", ".join(map(str, shards))


def free_cores() -> tuple[int, int, float]:
    """``(free, usable, load)``: the cores this process may use, less the 1-minute load average."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every system: assume an idle machine
        load = 0.0
    return max(0, min(cores, int(cores - load + 0.5))), cores, load


def backends_local(config: Config) -> bool:
    """Whether a backend answers on this host (so on the cores the workers would use)."""
    return any(
        _local(urlsplit(b.url).hostname or "") for b in (config.backends.legacy, config.backends.candidate)
    )


def _local(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if host == socket.gethostname().lower():  # no DNS lookup: the name as given
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
