"""Suggest ``[normalise]`` and ``[[endpoint]]`` rules from the differences stored with a run.

Each kind of false mismatch has a signature in the stored differences (docs/noise.md): keys that differ
only by case style, the same instant written two ways, null on one side and missing on the other, the
same elements in another order, tiny relative float differences, and paths learned as noise. Every
suggested rule says why and how many exchanges it would clear. "Would clear" is measured, not guessed:
the stored (redacted) bodies are compared again through :class:`~paritycheck.compare.Comparator` with the
rules added one at a time, and an exchange counts for the first rule after which it fully matches.
A path that looks like a regression (stable on both legacy asks, changed on the candidate with the same
type) is never suggested for ``ignore``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from paritycheck import config as config_mod
from paritycheck.common.jsonpath import format_path, parse, wildcard
from paritycheck.compare import Comparator, close_instants, timestamp, to_snake
from paritycheck.config import Config, EndpointRule, NormaliseConfig
from paritycheck.models import Difference, Reply, Status
from paritycheck.noise.learn import NoisePath
from paritycheck.noise.suggest_toml import Rule
from paritycheck.store import CLOCK, RunInfo, Store, StoredExchange, StoredReply

#: Instants this close on both sides were read off the clock at answer time, not stored.
CLOCK_SKEW_S = 5.0
#: Relative float differences below this are rounding, not arithmetic that differs.
FLOAT_LIMIT = 1e-6
#: Exchanges compared again to measure what each rule clears; past this the counts cover these only.
MAX_EXCHANGES = 20_000


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The suggested rules of one run, merged into the configuration they were measured against."""

    run_id: int
    base: Config
    rules: list[Rule]
    #: Exchanges with differences (noise included) that were compared again; how many still differ.
    compared: int
    remaining: int
    notes: list[str] = field(default_factory=list)
    #: The run's own terms: the exchanges it reported mismatched, and how many of them the rules leave
    #: mismatched (their differences not classed as noise still found). The headline counts these.
    mismatched: int = 0
    still_mismatched: int = 0
    #: Exchanges whose differences were all classed as noise (matched in the run).
    noise_only: int = 0

    def merged(self) -> Config:
        """``base`` with every suggested noise rule added (decisions are not: see :attr:`decisions`)."""
        return _apply(self.base, [r for r in self.rules if not r.decision])

    @property
    def decisions(self) -> list[Rule]:
        """The rules that would hide consistent differences, each with what it would hide."""
        return [r for r in self.rules if r.decision]

    def to_toml(self) -> str:
        """A complete ``[normalise]`` section and ``[[endpoint]]`` blocks, each suggestion commented."""
        from paritycheck.noise.suggest_toml import render

        return render(self)


# ------------------------------------------------------------------------------------------- applying


def _apply(base: Config, rules: list[Rule]) -> Config:
    normalise = base.normalise
    endpoints = list(base.endpoint)
    for rule in rules:
        if rule.endpoint is None:
            if rule.key in ("ignore", "unordered"):
                value: Any = (*getattr(normalise, rule.key), rule.value)
            elif rule.key == "compare_headers":
                value = tuple(h for h in normalise.compare_headers if h.lower() != rule.value)
            else:
                value = rule.value
            normalise = dataclasses.replace(normalise, **{rule.key: value})
            continue
        at = next((i for i, e in enumerate(endpoints) if e.match == rule.endpoint), None)
        if at is None:
            endpoints.append(EndpointRule(match=rule.endpoint))
            at = len(endpoints) - 1
        current = endpoints[at]
        extended: dict[str, Any] = {rule.key: (*getattr(current, rule.key), rule.value)}
        endpoints[at] = dataclasses.replace(current, **extended)
    return dataclasses.replace(base, normalise=normalise, endpoint=tuple(endpoints))


def config_of_run(run: RunInfo) -> Config:
    """The ``[normalise]`` and ``[[endpoint]]`` rules a run was made with, as a Config."""
    data = {key: run.config[key] for key in ("normalise", "endpoint") if key in run.config}
    return config_mod.parse(json.loads(json.dumps(data)), source=f"run {run.id}")


# ------------------------------------------------------------------------------------------- detecting


def _reply(store: Store, stored: StoredReply | None, headers: Any = None) -> Reply | None:
    if stored is None or stored.error is not None:
        return None
    body = store.body(stored.body) if stored.body else b""
    return Reply(stored.status, stored.headers if headers is None else headers, body)


def _last_key(path: str) -> tuple[str, str] | None:
    """``$.a.userId`` -> (``$.a``, ``userId``); None when the last step is not a name."""
    try:
        steps = parse(path).steps
    except ValueError:
        return None
    if not steps or not isinstance(steps[-1][1], str) or any(d for d, _ in steps):
        return None
    parts = [s for _, s in steps[:-1]]
    if any(p is None for p in parts):
        return None
    return format_path([p for p in parts if p is not None]), steps[-1][1]


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _relative(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else 0.0


class _Evidence:
    """Signatures found in the stored differences, by rule."""

    def __init__(self) -> None:
        self.key_case: set[int] = set()
        self.timestamps: set[int] = set()
        self.nulls: set[int] = set()
        self.floats: set[int] = set()
        self.float_max = 0.0
        self.order: dict[tuple[str, str], set[int]] = {}
        self.paths: dict[tuple[str, str], Counter[str]] = {}  # (endpoint, wildcard path) -> kinds kept
        #: (endpoint, wildcard path) -> exchanges where both values are instants a few seconds apart
        self.clock: dict[tuple[str, str], set[int]] = {}


def _collect(
    xid: int, endpoint: str, diffs: tuple[Difference, ...], cfg: NormaliseConfig, ev: _Evidence
) -> None:
    added: dict[tuple[str, str], str] = {}
    removed: dict[tuple[str, str], str] = {}
    for d in diffs:
        if d.kind in ("added", "removed"):
            value = d.candidate if d.kind == "added" else d.legacy
            if value is None and not cfg.null_equals_missing:
                ev.nulls.add(xid)
            split = _last_key(d.path)
            if split is not None:
                (added if d.kind == "added" else removed)[(split[0], to_snake(split[1]))] = split[1]
        elif d.kind == "changed":
            a, b = d.legacy, d.candidate
            if isinstance(a, str) and isinstance(b, str):
                if (
                    not cfg.timestamps
                    and timestamp(a) == timestamp(b)
                    and (timestamp(a) != a or timestamp(b) != b)
                ):
                    ev.timestamps.add(xid)
                elif _clock_apart(a, b):
                    ev.clock.setdefault((endpoint, wildcard(d.path)), set()).add(xid)
            elif _is_number(a) and _is_number(b) and a != b:
                rel = _relative(float(a), float(b))
                if rel < FLOAT_LIMIT and rel > cfg.float_tolerance:
                    ev.floats.add(xid)
                    ev.float_max = max(ev.float_max, rel)
        elif d.kind == "order":
            ev.order.setdefault((endpoint, wildcard(d.path)), set()).add(xid)
    if cfg.key_case == "none" and any(removed[k] != name for k, name in added.items() if k in removed):
        ev.key_case.add(xid)


def _instant(value: str) -> dt.datetime | None:
    canonical = timestamp(value)
    if canonical == value and not value[:4].isdigit():
        return None
    try:
        moment = dt.datetime.fromisoformat(canonical)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _clock_apart(a: str, b: str) -> bool:
    """Both values are instants, different but within CLOCK_SKEW: read off each backend's clock."""
    x, y = _instant(a), _instant(b)
    return x is not None and y is not None and x != y and abs((x - y).total_seconds()) <= CLOCK_SKEW_S


def _tolerance(rel: float) -> float:
    """The smallest power of ten at or above ``rel``."""
    tol = 10.0 ** math.ceil(math.log10(rel))
    return tol if tol >= rel else tol * 10


# ------------------------------------------------------------------------------------------- suggesting


def _regressions(
    store: Store, comparator: Comparator, exchanges: list[StoredExchange], wanted: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Of ``wanted`` (endpoint, path), those with a sampled exchange stable on both legacy asks but changed
    on the candidate with the same type."""
    found: set[tuple[str, str]] = set()
    for x in exchanges:
        if x.legacy_again is None or x.legacy is None:
            continue
        # Equal stored values mean both were redacted: the stored bodies cannot tell stable from noisy.
        changed = {
            wildcard(d.path)
            for d in (*x.differences, *x.noise)
            if d.kind == "changed" and d.legacy != d.candidate
        }
        suspects = {p for p in changed if (x.endpoint, p) in wanted and (x.endpoint, p) not in found}
        if not suspects:
            continue
        legacy = _reply(store, x.legacy)
        again = _reply(store, x.legacy_again, headers=x.legacy.headers)
        if legacy is None or again is None:
            continue
        aa = {wildcard(d.path) for d in comparator.compare_bodies(x.endpoint, legacy, again)}
        found.update((x.endpoint, p) for p in suspects - aa)
    return found


def _stored(store: Store, run_id: int) -> Iterator[StoredExchange]:
    for x in store.exchanges(run_id):
        if x.differences or x.noise:
            yield x


def suggest(store: Store, run_id: int, config: Config) -> Suggestions:
    """Rules that would remove the false mismatches of run ``run_id``, measured on its stored bodies."""
    store.run(run_id)
    cfg = config.normalise
    ev = _Evidence()
    exchanges: list[StoredExchange] = []
    for x in _stored(store, run_id):
        _collect(x.id, x.endpoint, (*x.differences, *x.noise), cfg, ev)
        for d in x.differences:
            ev.paths.setdefault((x.endpoint, wildcard(d.path)), Counter())[d.kind] += 1
        if len(exchanges) < MAX_EXCHANGES:
            exchanges.append(x)
    notes: list[str] = []
    if len(exchanges) == MAX_EXCHANGES:
        notes.append(f"counts cover the first {MAX_EXCHANGES} exchanges with differences")
    # Noise first: it is on most exchanges, so each convention rule after it is credited with what it clears.
    comparator = Comparator(cfg, config.endpoint)
    noise = [p for p in store.noise_paths(run_id) if p.raw > 0]
    # Instants read off each backend's clock were classed as noise when compared, and will be on every
    # run while timestamps_tolerance is on: an ignore rule would add nothing but hide a real difference
    # there later (a date stored an hour off).
    clocked = frozenset((p.endpoint, p.path) for p in noise if p.reason == CLOCK)
    if clocked and cfg.timestamps_tolerance > 0:
        notes.append(
            "no rule needed: instants read off each backend's clock during the run, classed as noise on"
            f" every run by timestamps_tolerance = {cfg.timestamps_tolerance:g}: "
            + ", ".join(f"{path} on {endpoint}" for endpoint, path in sorted(clocked))
        )
        noise = [p for p in noise if p.reason != CLOCK]
    noisy = {p.path for p in noise}
    suspects = {(p.endpoint, p.path) for p in noise} | {key for key in ev.paths if key[1] in noisy}
    rules = _noise_rules(noise, ev, _regressions(store, comparator, exchanges, suspects), cfg, notes)
    if ev.key_case:
        rules.append(Rule("key_case", "snake", None, "keys differ only by case style", len(ev.key_case)))
    if ev.timestamps:
        why = "values are the same instant written in another format"
        rules.append(Rule("timestamps", True, None, why, len(ev.timestamps)))
    if ev.nulls:
        why = "a field is null on one side and missing on the other"
        rules.append(Rule("null_equals_missing", True, None, why, len(ev.nulls)))
    if ev.floats:
        tol = _tolerance(ev.float_max)
        why = f"numbers differ by at most {ev.float_max:.1e} relative (rounding)"
        rules.append(Rule("float_tolerance", tol, None, why, len(ev.floats)))
    for (endpoint, path), ids in sorted(ev.order.items()):
        rules.append(Rule("unordered", path, endpoint, "the same elements in another order", len(ids)))
    if cfg.timestamps_tolerance <= 0:
        # With the run clock on, an instant pair it left alone lay outside this exchange's and the run's
        # windows: a stored date (a due date one second off is a bug), never a rule to suggest.
        rules.extend(_clock_rules(store, comparator, exchanges, ev, rules, notes))
    return _measure(store, run_id, config, rules, exchanges, notes)


def _clock_rules(
    store: Store,
    comparator: Comparator,
    exchanges: list[StoredExchange],
    ev: _Evidence,
    rules: list[Rule],
    notes: list[str],
) -> list[Rule]:
    """``ignore`` per endpoint for timestamps taken when the request was served (``now``, ``now + 1h``).

    Writes are never asked twice, so noise learning has no evidence for them; the signature is every
    difference at the path being two instants a few seconds apart. A path the A/A asks show stable on
    the legacy is a likely regression and is never ignored.
    """
    ignored = {(r.endpoint, r.value) for r in rules if r.key == "ignore"}
    candidates = {
        key: ids
        for key, ids in ev.clock.items()
        if (key[0], key[1]) not in ignored
        and (None, key[1]) not in ignored
        # Every difference there has the signature: nothing else differs at this path.
        and sum(ev.paths.get(key, Counter()).values()) == len(ids)
    }
    stable = _regressions(store, comparator, exchanges, set(candidates))
    out: list[Rule] = []
    for (endpoint, path), ids in sorted(candidates.items()):
        if (endpoint, path) in stable:
            notes.append(
                f"not ignored: {path} on {endpoint} (stable on both legacy asks: a likely regression)"
            )
            continue
        why = f"instants at most {CLOCK_SKEW_S:g} s apart: read off each backend's clock when it answered"
        out.append(Rule("ignore", path, endpoint, why, len(ids)))
    return out


def _noise_rules(
    noise: list[NoisePath],
    ev: _Evidence,
    regressions: set[tuple[str, str]],
    cfg: NormaliseConfig,
    notes: list[str],
) -> list[Rule]:
    """``ignore`` rules for the noise paths; global when safe on every endpoint where the path differs."""
    rules: list[Rule] = []
    by_path: dict[str, list[NoisePath]] = {}
    for p in noise:
        by_path.setdefault(p.path, []).append(p)
    compared_headers = {h.lower() for h in cfg.compare_headers}
    for path, found in sorted(by_path.items()):
        if path.startswith("header:"):
            name = path[7:]
            if name in compared_headers:
                why = f"changes on every answer ({found[0].describe()}); stop comparing it"
                rules.append(Rule("compare_headers", name, None, why, sum(p.raw for p in found)))
            continue
        if not path.startswith("$"):
            continue
        kinds = {k for p in found for k in p.kinds}
        bad: dict[str, str] = {}
        for p in found:
            if (p.endpoint, path) in regressions:
                bad[p.endpoint] = "stable on both legacy asks of a sampled exchange, changed on the candidate"
        others: dict[str, int] = {}
        for (endpoint, q), kept in ev.paths.items():
            if q != path:
                continue
            if (endpoint, path) in regressions:
                bad[endpoint] = "stable on both legacy asks of a sampled exchange, changed on the candidate"
            elif kinds and set(kept) - kinds:
                bad[endpoint] = f"it also has {', '.join(sorted(set(kept) - kinds))} differences there"
            else:
                others[endpoint] = sum(kept.values())
        for endpoint, why in sorted(bad.items()):
            notes.append(f"not ignored: {path} on {endpoint} (a likely regression: {why})")
        ok = [p for p in found if p.endpoint not in bad]
        noisy = {p.endpoint for p in ok}
        others = {e: n for e, n in others.items() if e not in noisy}
        if len(ok) > 1 and not bad:
            evidence = ", ".join(sorted({p.describe() for p in ok}, key=lambda d: (len(d), d)))
            why = f"noise on {len(ok)} endpoints ({evidence})"
            if others:
                why += f"; differs the same way on {len(others)} more"
            rules.append(Rule("ignore", path, None, why, sum(p.raw for p in ok) + sum(others.values())))
        else:
            for p in ok:
                rules.append(Rule("ignore", path, p.endpoint, f"noise ({p.describe()})", p.raw))
    return rules


def _found(
    comparator: Comparator, store: Store, x: StoredExchange, tolerance: float, *, noise: bool = True
) -> set[tuple[str, str]] | None:
    """The differences (kind, shape) that ``comparator`` finds on ``x`` again and the run would report:
    a difference the run settled (each backend's own correlated token or id) is not stored, so it is
    no difference here either, and neither is an instant the run read off the two clocks (stored as
    noise, two instants within ``tolerance``): no rule is needed for those. ``noise=False``: only the
    differences the run did not class as noise (what made it report the exchange mismatched)."""
    legacy, candidate = _reply(store, x.legacy), _reply(store, x.candidate)
    if legacy is None or candidate is None:
        return None
    kept = {(d.kind, d.path) for d in x.differences}
    if noise:
        kept |= {(d.kind, d.path) for d in x.noise if close_instants(d, tolerance) is None}
    return {
        (d.kind, wildcard(d.path))
        for d in comparator.compare(x.endpoint, legacy, candidate)
        if (d.kind, d.path) in kept
    }


def _matches(comparator: Comparator, store: Store, x: StoredExchange, tolerance: float) -> bool | None:
    found = _found(comparator, store, x, tolerance)
    return None if found is None else not found


def _measure(
    store: Store,
    run_id: int,
    base: Config,
    rules: list[Rule],
    exchanges: list[StoredExchange],
    notes: list[str],
) -> Suggestions:
    """Compare the stored exchanges again with the noise rules added one by one; count what each clears.

    Each decision is then measured alone on top of them, with the differences it would hide.
    """
    comparator = Comparator(base.normalise, base.endpoint)
    tolerance = base.normalise.timestamps_tolerance
    pending = []
    for x in exchanges:
        if _matches(comparator, store, x, tolerance) is False:
            pending.append(x)
    compared = len(pending)
    noise = [r for r in rules if not r.decision]
    measured: list[Rule] = []
    for i, rule in enumerate(noise):
        config = _apply(base, noise[: i + 1])
        comparator = Comparator(config.normalise, config.endpoint)
        still = [x for x in pending if not _matches(comparator, store, x, tolerance)]
        measured.append(dataclasses.replace(rule, clears=len(pending) - len(still)))
        pending = still
    cleaned = _apply(base, noise)
    before = Comparator(cleaned.normalise, cleaned.endpoint)
    reported = [x for x in exchanges if x.outcome is Status.MISMATCHED]
    still_mismatched = sum(1 for x in reported if _found(before, store, x, tolerance, noise=False) != set())
    for rule in (r for r in rules if r.decision):
        config = _apply(cleaned, [rule])
        after = Comparator(config.normalise, config.endpoint)
        hidden: Counter[str] = Counter()
        clears = 0
        for x in pending:
            was, now = _found(before, store, x, tolerance), _found(after, store, x, tolerance)
            if was is None or now is None:
                continue
            for kind, path in was - now:
                hidden[f"{kind} {path}"] += 1
            clears += bool(was) and not now
        measured.append(dataclasses.replace(rule, clears=clears, hides=tuple(hidden.most_common())))
    remaining = len(pending)
    return Suggestions(
        run_id,
        base,
        measured,
        compared,
        remaining,
        notes,
        mismatched=len(reported),
        still_mismatched=still_mismatched,
    )


__all__ = ["Rule", "Suggestions", "config_of_run", "suggest"]
