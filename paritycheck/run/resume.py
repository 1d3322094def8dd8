"""``replay --resume``: continue an interrupted or crashed run without duplicates or gaps.

The run to continue is the newest ``interrupted`` or ``crashed`` one (or ``--run ID``). Its captures
must be the very same files (sha256, in the same order; the paths may differ). Every entry stored for
it is skipped; every other entry is replayed into the same run, so each entry of the captures ends up
stored exactly once. With session-aware replay (docs/sessions.md) and ``--allow-writes``, the unit of a
session that writes is the session: stored only in part, its stored exchanges are deleted and it is
replayed again from its start, because its later requests depend on its earlier writes. Sessions that
only read resume entry by entry. Sessions are found from their markers (Authorization, session
cookies, page, ``[sessions] key``); an exchange tied to a session only by a generated value it sends
counts in the session of its own markers.

A sharded run (``--workers``, ``--shard``) is resumed shard by shard: :func:`prepare_resume` does the
checks and the forgetting above once, then every shard that is not complete is run again into the same
run (``replay --shard I/N``), which skips what that shard stored (run/plan.py, run/workers.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from paritycheck.capture import read_fast
from paritycheck.config import Config
from paritycheck.errors import CaptureError, ConfigError
from paritycheck.session import Grouper
from paritycheck.store import RunInfo, Store

__all__ = ["RESUMABLE", "ResumePlan", "pick_run", "plan_resume", "prepare_resume", "unfinished_shards"]

#: Statuses of a run that ``--resume`` continues.
RESUMABLE = ("interrupted", "crashed")

Entry = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """What a resumed run skips: ``done`` entries (``(source, entry)`` as the captures are named now)."""

    run_id: int
    done: frozenset[Entry]
    #: Stored exchanges deleted because their session is replayed again from its start.
    again: int


def pick_run(store: Store, run_id: int | None) -> RunInfo:
    """Run ``run_id``, or the newest interrupted or crashed run; a ConfigError when it cannot resume."""
    if run_id is not None:
        run = store.run(run_id)
        if run.status not in RESUMABLE:
            raise ConfigError(
                f"run {run_id} is {run.status}: only an interrupted or crashed run can be resumed",
                hint="pass --run with the id of an interrupted or crashed run (paritycheck history)",
            )
        return run
    for run in reversed(store.runs()):
        if run.status in RESUMABLE:
            return run
    raise ConfigError(
        f"no interrupted or crashed run in {store.path} to resume",
        hint="run paritycheck replay without --resume",
    )


def _check_captures(run: RunInfo, captures: list[dict[str, str]]) -> dict[str, str]:
    """The stored capture names mapped to the current ones; a different capture is a usage error."""
    if [c.get("digest") for c in run.captures] != [c["digest"] for c in captures]:
        stored = ", ".join(f"{c.get('name')} (sha256 {str(c.get('digest'))[:12]})" for c in run.captures)
        given = ", ".join(f"{c['name']} (sha256 {c['digest'][:12]})" for c in captures)
        raise ConfigError(
            f"run {run.id} replayed other captures: {stored}; given: {given}",
            hint="resume with the same capture files, in the same order, or start a new run",
        )
    return {str(old.get("name")): new["name"] for old, new in zip(run.captures, captures, strict=True)}


def _sessions(
    captures: Sequence[Path], grouper: Grouper
) -> tuple[dict[Hashable, list[Entry]], set[Hashable]]:
    """Entries per session, grouped by their markers as the replay groups them (module docstring), and
    the sessions that hold a write."""
    ids = itertools.count(1)
    by_marker: dict[Hashable, int] = {}
    defaults: dict[str, int] = {}
    out: dict[Hashable, list[Entry]] = {}
    writing: set[Hashable] = set()
    for path in captures:
        try:
            for exchange in read_fast(path):
                markers = grouper.markers(exchange)
                group = next((by_marker[m] for m in markers if m in by_marker), None)
                if group is None:
                    if markers:
                        group = next(ids)
                    else:
                        group = defaults.get(exchange.source) or defaults.setdefault(
                            exchange.source, next(ids)
                        )
                for m in markers:
                    by_marker.setdefault(m, group)
                out.setdefault(group, []).append((exchange.source, exchange.index))
                if not exchange.request.is_safe:
                    writing.add(group)
        except CaptureError:  # the replay meets it again and records it; what came before counts
            break
    return out, writing


def unfinished_shards(run: RunInfo) -> list[int]:
    """The shards (1-based) of a sharded run that are not complete; [] for a run that is not sharded."""
    shards = run.meta.get("shards")
    if not isinstance(shards, dict):
        return []
    states = shards.get("state") or {}
    return [i for i in range(1, int(shards.get("count", 0)) + 1) if states.get(str(i)) != "complete"]


def prepare_resume(
    store: Store, config: Config, captures: Sequence[Path], described: list[dict[str, str]], run: RunInfo
) -> ResumePlan:
    """Check ``run``'s captures, forget its partly stored sessions that write, record the resumption.

    The run is not reopened: :func:`plan_resume` does that for one process, and each re-run shard of a
    sharded run does it as it joins."""
    names = _check_captures(run, described)
    stored = {(names.get(source, source), entry) for source, entry in store.stored_entries(run.id)}
    again = 0
    grouper = Grouper(config.sessions.key)
    if grouper.enabled and stored:
        partial: list[Entry] = []
        sessions, writing = _sessions(captures, grouper)
        for session, entries in sessions.items():
            if session not in writing or not config.replay.allow_writes:
                continue  # reads only: nothing of it changed a backend, so it resumes entry by entry
            kept = [e for e in entries if e in stored]
            if kept and len(kept) < len(entries):
                partial += kept
        if partial:
            back = {new: old for old, new in names.items()}
            again = store.forget_exchanges(run.id, [(back.get(s, s), i) for s, i in partial])
            stored -= set(partial)
    previous = run.meta.get("resumed")
    times = int(previous.get("times", 0)) if isinstance(previous, dict) else 0
    facts = {"times": times + 1, "kept": len(stored), "replayed_again": again}
    store.update_meta(run.id, {"resumed": facts})
    return ResumePlan(run.id, frozenset(stored), again)


def plan_resume(
    store: Store,
    config: Config,
    captures: Sequence[Path],
    described: list[dict[str, str]],
    *,
    run_id: int | None,
) -> ResumePlan:
    """Pick the run, check its captures, forget partly stored sessions and reopen it as running, owned
    by this process. A sharded run is refused: its shards are run again instead (``replay --resume``)."""
    run = pick_run(store, run_id)
    if unfinished_shards(run):
        raise ConfigError(
            f"run {run.id} was replayed in shards: one process cannot continue it",
            hint=f"run paritycheck replay --resume --run {run.id}, which runs its unfinished shards again",
        )
    plan = prepare_resume(store, config, captures, described, run)
    store.reopen_run(run.id)
    return plan
