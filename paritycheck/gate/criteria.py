"""The rollout gate: a stored run's measurements against the ``[gate]`` criteria -> pass or fail.

Each criterion becomes a :class:`Criterion` row (measured value, threshold, interval, pass/fail, a note
saying why); the run passes when every row passes. The rules, the statistics and the handling of accepted
differences are documented in ``docs/gate.md``; in short:

- parity and failed % count matched / (matched + mismatched + failed); skipped exchanges are not judged.
  A mismatched exchange whose every difference is accepted (and unexpired) counts as matched. Each
  exchange is judged by exactly one threshold: an endpoint with its own ``min_parity`` (``max_failed``)
  rule is judged on its own and left out of the run-wide figure.
- latency (per endpoint with at least ``min_samples`` exchanges where both backends answered): the
  candidate/legacy p95 ratio and the candidate p95, each with a bootstrap interval. A criterion fails only
  on evidence (the interval's lower bound above the threshold), passes when the upper bound is within it,
  and is *inconclusive* (passes, with a note) when the interval straddles the threshold.
- findings (paritycheck.findings): per grade, at most ``max_findings[grade]`` findings not wholly
  accepted; by default none where the candidate accepts what the legacy refused. ``max_breaking``
  counts the findings graded breaking or worse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paritycheck.common.endpoints import pattern_matches
from paritycheck.config import GateConfig
from paritycheck.findings import Findings, of_run
from paritycheck.gate.accepted import Acceptance, KnownDifferences
from paritycheck.gate.finding_limits import acceptances, finding_rows
from paritycheck.gate.history import alike_before
from paritycheck.gate.period import complete_runs, included_run, merge_groups
from paritycheck.gate.stats import RESAMPLES, Estimate, compare_p95, seed_for
from paritycheck.gate.stream_latency import stream_times
from paritycheck.gate.verdict import (
    ENDPOINT,
    FAIL,
    INCONCLUSIVE,
    NOT_JUDGED,
    PASS,
    RUN,
    AcceptedGroup,
    Criterion,
    GateResult,
    format_value,
    label,
)
from paritycheck.models import Status
from paritycheck.store import Store

__all__ = [
    "ENDPOINT",
    "FAIL",
    "INCONCLUSIVE",
    "NOT_JUDGED",
    "PASS",
    "RUN",
    "AcceptedGroup",
    "Criterion",
    "GateResult",
    "evaluate",
    "evaluate_runs",
    "format_value",
    "record",
]

#: Relative slack when comparing with a threshold, so 999/1000 matched meets ``min_parity = 99.9``.
_EPS = 1e-9
_RULE_FIELDS = ("min_parity", "max_failed", "max_p95_ratio", "max_p95_ms", "min_samples")


@dataclass(frozen=True, slots=True)
class _Limits:
    min_parity: float
    max_failed: float
    max_p95_ratio: float
    max_p95_ms: float
    min_samples: int
    #: Criteria set by an endpoint rule: name -> the rule's pattern.
    own: dict[str, str]


def limits_for(gate: GateConfig, endpoint: str) -> _Limits:
    """Per criterion, the first matching ``[[gate.endpoint]]`` rule's value, else ``[gate]``'s."""
    values: dict[str, Any] = {f: getattr(gate, f) for f in _RULE_FIELDS}
    own: dict[str, str] = {}
    for rule in gate.endpoint:
        if pattern_matches(rule.match, endpoint):
            for f in _RULE_FIELDS:
                value = getattr(rule, f)
                if value is not None and f not in own:
                    values[f], own[f] = value, rule.match
    return _Limits(**values, own=own)


def _share(
    name: str,
    part: int,
    judged: int,
    threshold: float,
    *,
    at_least: bool,
    scope: str,
    endpoint: str | None = None,
    note: str = "",
) -> Criterion:
    """A percentage criterion: ``part / judged * 100`` against ``threshold``."""
    op = ">=" if at_least else "<="
    if judged == 0:
        return Criterion(
            name,
            scope,
            None,
            threshold,
            None,
            True,
            note or "no replayed exchanges",
            endpoint,
            NOT_JUDGED,
            "%",
            op,
        )
    value = part / judged * 100.0
    ok = (
        value >= threshold - _EPS * max(1.0, threshold)
        if at_least
        else value <= threshold + _EPS * max(1.0, threshold)
    )
    detail = f"{part:,} of {judged:,} {'matched' if at_least else name}"
    note = f"{detail}; {note}" if note else detail
    return Criterion(name, scope, value, threshold, None, ok, note, endpoint, PASS if ok else FAIL, "%", op)


def _bounded(name: str, est: Estimate, threshold: float, *, endpoint: str, unit: str, note: str) -> Criterion:
    """An upper-limit criterion judged on its interval: fail on evidence, inconclusive when straddling."""
    slack = _EPS * max(1.0, threshold)
    if est.high <= threshold + slack:
        state, passed = PASS, True
    elif est.low > threshold + slack:
        state, passed = FAIL, False
        note = f"{note}; even the interval's lower bound exceeds {format_value(threshold, unit)}"
    else:
        state, passed = INCONCLUSIVE, True
        limit = format_value(threshold, unit)
        note = f"{note}; inconclusive: the interval straddles {limit}, more samples would decide"
    return Criterion(
        name, ENDPOINT, est.value, threshold, (est.low, est.high), passed, note, endpoint, state, unit, "<="
    )


def _latency(
    endpoint: str,
    pair: tuple[Sequence[float], Sequence[float]] | None,
    limits: _Limits,
    *,
    confidence: float,
    resamples: int,
    skipped_only: bool = False,
) -> list[Criterion]:
    legacy, candidate = pair or ((), ())
    n = min(len(legacy), len(candidate))
    if n < limits.min_samples:
        note = f"not judged on latency (n={n} < {limits.min_samples})"
        if not pair and skipped_only:
            # Nothing was replayed here: say why, not that the backends did not answer.
            writes = endpoint.split(" ", 1)[0] in ("POST", "PUT", "PATCH", "DELETE")
            note = "skipped: " + (
                "writes are not replayed without --allow-writes" if writes else "every exchange was skipped"
            )
        elif not pair:
            note += ": no exchange where both backends answered"
        return [
            Criterion(
                "latency", ENDPOINT, n, limits.min_samples, None, True, note, endpoint, NOT_JUDGED, "", ">="
            )
        ]
    l95, c95, ratio = compare_p95(
        legacy, candidate, confidence=confidence, resamples=resamples, seed=seed_for(endpoint)
    )
    base = f"n={n}; legacy p95 {l95.value:.1f} ms, candidate {c95.value:.1f} ms"
    return [
        _bounded("p95 ratio", ratio, limits.max_p95_ratio, endpoint=endpoint, unit="×", note=base),
        _bounded("p95", c95, limits.max_p95_ms, endpoint=endpoint, unit="ms", note=f"n={n}"),
    ]


def unmatched(store: Store, run_id: int, entry: Acceptance) -> str | None:
    """Why ``entry`` matches no difference group of run ``run_id``, with the groups it may have meant;
    None when it matches one."""
    if entry.finding:
        found = of_run(store, run_id, examples=0)
        if any(entry.matches(m.endpoint, m.kind, m.path, finding=m.signature) for m in found.members):
            return None
        titles = [f"{f.signature} ({f.title})" for f in list(found)[:5]]
        return f"finding {entry.finding} is not among the findings of run {run_id}" + (
            "; its findings: " + "; ".join(titles) if titles else ""
        )
    groups = store.difference_groups(run_id, examples=1)
    if any(entry.matches(g.endpoint, g.kind, g.path, tuple(g.wire.values())) for g in groups):
        return None
    near = [g for g in groups if pattern_matches(entry.endpoint, g.endpoint)] or groups
    shown = [f"{g.kind} {g.path} on {g.endpoint}" for g in near[:5]]
    return f"{entry.kind} {entry.path} on {entry.endpoint} matches no difference of run {run_id}" + (
        f"; its differences{' there' if near is not groups else ''}: " + "; ".join(shown) if shown else ""
    )


def _expired(
    shown: list[AcceptedGroup], known: KnownDifferences, today: dt.date, used: set[int]
) -> tuple[list[Criterion], list[str]]:
    """A failing criterion per expired entry that still matches differences; a note per unused one.

    An entry still in force that matches nothing is noted too: its endpoint, kind or path is likely
    misspelt (or the difference is fixed, and the entry can go).
    """
    hits: dict[int, int] = {}
    for g in shown:
        hits[g.acceptance.index] = hits.get(g.acceptance.index, 0) + g.count
    criteria, notes = [], []
    where = known.source or "known differences"
    for entry in known.entries:
        until = entry.until.isoformat()
        if not entry.expired(today):
            if entry.index not in used:
                notes.append(
                    f"{where}: {entry.label} matches no difference of this run: check its endpoint, kind"
                    " and path (a wire path such as $.data.price or the normalised $.price), or remove it"
                    " if the difference is fixed"
                )
            continue
        if entry.index in hits:
            note = (
                f"{where}: {entry.label} expired on {until} (owner {entry.owner}: {entry.reason}); its "
                f"{hits[entry.index]:,} differences fail the run again: fix them or extend until"
            )
            criteria.append(
                Criterion(
                    "accepted difference expired", RUN, hits[entry.index], None, None, False, note, None, FAIL
                )
            )
        else:
            notes.append(
                f"{where}: {entry.label} expired on {until} and matches nothing in this run: remove it"
            )
    return criteria, notes


def evaluate(
    store: Store,
    run_id: int,
    gate: GateConfig,
    *,
    known: KnownDifferences | None = None,
    today: dt.date | None = None,
    resamples: int = RESAMPLES,
) -> GateResult:
    """Judge stored run ``run_id`` against ``gate``; ``today`` decides which acceptances have expired."""
    return evaluate_runs(store, [run_id], gate, known=known, today=today, resamples=resamples)


def evaluate_runs(
    store: Store,
    run_ids: Sequence[int],
    gate: GateConfig,
    *,
    known: KnownDifferences | None = None,
    today: dt.date | None = None,
    resamples: int = RESAMPLES,
    period: str | None = None,
) -> GateResult:
    """Judge runs ``run_ids`` together, as one run: their outcomes and latencies are merged.

    Live modes write one run per window; ``gate --since 24h`` judges the windows of a period with this
    (``period`` describes it, e.g. ``"since 2026-11-25 22:40 UTC"``), so parity, failed and latency
    criteria are judged on the period's evidence rather than on one small window.
    """
    if not run_ids:
        raise ValueError("evaluate_runs needs at least one run id")
    today = today or dt.date.today()
    known = known or KnownDifferences()
    runs = [store.run(i) for i in run_ids]
    counts: dict[str, dict[str, int]] = {}
    latencies: dict[str, tuple[list[float], list[float]]] = {}
    shown_all: list[AcceptedGroup] = []
    per_run: list[tuple[Findings, set[int]]] = []
    accepted: dict[str, int] = {}
    used: set[int] = set()
    # runs of a period named an endpoint before the store knew its spec's name: one name each
    alias = store.known_endpoints().spelling() if period is not None else str
    for run_id in run_ids:
        for endpoint, by_status in store.counts(run_id).items():
            into = counts.setdefault(alias(endpoint), {})
            for status, n in by_status.items():
                into[status] = into.get(status, 0) + n
        for endpoint, (legacy_ms, candidate_ms) in store.latencies(run_id).items():
            both = latencies.setdefault(alias(endpoint), ([], []))
            both[0].extend(legacy_ms)
            both[1].extend(candidate_ms)
        found = of_run(store, run_id, examples=0)
        run_shown, run_accepted, active = acceptances(found, known, today, used)
        per_run.append((found, active))
        shown_all += [dataclasses.replace(g, endpoint=alias(g.endpoint)) for g in run_shown]
        for endpoint, n in run_accepted.items():
            accepted[alias(endpoint)] = accepted.get(alias(endpoint), 0) + n
    shown = merge_groups(shown_all)
    criteria = [complete_runs(runs, period)]
    endpoint_rows: list[Criterion] = []
    run_matched = run_judged = run_failed = run_failed_judged = all_judged = 0
    own_parity = own_failed = 0
    for endpoint in sorted(set(counts) | set(latencies)):
        c = counts.get(endpoint, {})
        failed = c.get(Status.FAILED.value, 0)
        judged = c.get(Status.MATCHED.value, 0) + c.get(Status.MISMATCHED.value, 0) + failed
        matched = c.get(Status.MATCHED.value, 0) + accepted.get(endpoint, 0)
        all_judged += judged
        limits = limits_for(gate, endpoint)
        acc_note = f"{accepted[endpoint]:,} accepted" if endpoint in accepted else ""
        if "min_parity" in limits.own:
            own_parity += 1
            endpoint_rows.append(
                _share(
                    "parity",
                    matched,
                    judged,
                    limits.min_parity,
                    at_least=True,
                    scope=ENDPOINT,
                    endpoint=endpoint,
                    note=acc_note,
                )
            )
        else:
            run_matched, run_judged = run_matched + matched, run_judged + judged
        if "max_failed" in limits.own:
            own_failed += 1
            endpoint_rows.append(
                _share(
                    "failed",
                    failed,
                    judged,
                    limits.max_failed,
                    at_least=False,
                    scope=ENDPOINT,
                    endpoint=endpoint,
                )
            )
        else:
            run_failed, run_failed_judged = run_failed + failed, run_failed_judged + judged
        endpoint_rows += _latency(
            endpoint,
            latencies.get(endpoint),
            limits,
            confidence=gate.confidence,
            resamples=resamples,
            skipped_only=judged == 0 and c.get(Status.SKIPPED.value, 0) > 0,
        )
    # Streams: the per-message round trips too, against the same latency limits (docs/streams.md).
    for endpoint, (_, _, _, legacy_trips, candidate_trips) in stream_times(store, run_id).items():
        if legacy_trips or candidate_trips:
            rows = _latency(endpoint, (legacy_trips, candidate_trips), limits_for(gate, endpoint),
                            confidence=gate.confidence, resamples=resamples)  # fmt: skip
            endpoint_rows += [dataclasses.replace(c, name=f"round trip {c.name}") for c in rows]

    accepted_total = sum(accepted.values())
    parity_note = ", ".join(
        x
        for x in (
            f"{accepted_total:,} with only accepted differences count as matched" if accepted_total else "",
            f"{own_parity} endpoint(s) judged by their own rule" if own_parity else "",
        )
        if x
    )
    if all_judged == 0:
        note = "nothing was replayed: every exchange was skipped, or the run is empty"
        criteria.append(
            Criterion("parity", RUN, None, gate.min_parity, None, False, note, state=FAIL, unit="%", op=">=")
        )
    else:
        criteria.append(
            _share(
                "parity", run_matched, run_judged, gate.min_parity, at_least=True, scope=RUN, note=parity_note
            )
        )
    failed_note = f"{own_failed} endpoint(s) judged by their own rule" if own_failed else ""
    criteria.append(
        _share(
            "failed",
            run_failed,
            run_failed_judged,
            gate.max_failed,
            at_least=False,
            scope=RUN,
            note=failed_note,
        )
    )
    criteria += finding_rows(per_run, gate)
    expired_rows, notes = _expired(shown, known, today, used)
    criteria += expired_rows
    criteria += endpoint_rows
    result = GateResult(
        max(run_ids),
        tuple(criteria),
        tuple(shown),
        tuple(notes),
        confidence=gate.confidence,
        resamples=resamples,
        known_source=known.source,
        runs=tuple(run_ids) if period is not None else (),
        period=period,
        included=tuple(included_run(r) for r in runs) if period is not None else (),
    )
    if gate.min_consecutive_passes > 0 and period is not None:
        note = "min_consecutive_passes is not applied to a period: its runs are judged as one"
        result = dataclasses.replace(result, notes=(*result.notes, note))
    elif gate.min_consecutive_passes > 0:
        streak = _streak(store, result, gate, known=known, today=today, resamples=resamples)
        result = dataclasses.replace(result, criteria=(*result.criteria, streak))
    return result


def _streak(
    store: Store,
    result: GateResult,
    gate: GateConfig,
    *,
    known: KnownDifferences,
    today: dt.date,
    resamples: int,
) -> Criterion:
    """Consecutive passing runs ending with this one, each judged by today's criteria."""
    need = gate.min_consecutive_passes
    plain = dataclasses.replace(gate, min_consecutive_passes=0)
    streak = 0
    if result.passed:
        streak = 1
        # like with like: the runs before of the same captures and rules (gate/lineage.py)
        for prev in alike_before(store, result.run_id)[: need - 1]:
            if not evaluate(store, prev, plain, known=known, today=today, resamples=resamples).passed:
                break
            streak += 1
    ok = streak >= need
    note = f"this run and the {need - 1} before it must pass" if need > 1 else "this run must pass"
    if not ok:
        note = f"{note}; only {streak} in a row do" if streak else f"{note}; this run does not"
    return Criterion(
        "consecutive passes", RUN, streak, need, None, ok, note, state=PASS if ok else FAIL, unit="", op=">="
    )


def record(store: Store, result: GateResult) -> None:
    """Keep the verdict with the run (``meta.gate``), so ``paritycheck history`` can show it."""
    store.update_meta(
        result.run_id,
        {"gate": {"verdict": result.verdict, "failed": [label(c) for c in result.failures]}},
    )
