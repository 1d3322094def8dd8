"""``rollout status``: everything since the current step began, judged against that step.

The evidence is the step's finished runs (live windows, replays: :func:`~paritycheck.rollout.evidence.
step_runs`) and the cohorts of the access logs since it began. The verdict:

- **roll back** when a ``[rollout.rollback]`` trigger fires (rollout/triggers.py);
- else **hold** while something is missing: the step's time, its exchanges, any evidence at all, a
  cohort big enough to judge, or a criterion not met (the gate's criteria over the step's runs judged
  as one, each side's error rate, findings by grade, how the candidate cohort fares);
- else **advance**, to the next step (or, after the last one, the rollout is complete).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from paritycheck.common.durations import format_duration
from paritycheck.config import Config
from paritycheck.config_rollout import RolloutStep
from paritycheck.gate import (
    FAIL,
    NOT_JUDGED,
    PASS,
    RUN,
    Criterion,
    GateResult,
    KnownDifferences,
    evaluate_runs,
    format_value,
)
from paritycheck.gate.stats import RESAMPLES
from paritycheck.rollout.accesslog import CANDIDATE, LEGACY, CohortRule, LogRequest
from paritycheck.rollout.canary import HIGH, NODATA, CanaryResult, compare_cohorts
from paritycheck.rollout.evidence import CohortLogs, StepPeriod, read_cohorts, step_runs, window_point
from paritycheck.rollout.findings import findings_criteria, findings_of
from paritycheck.rollout.plan import current, gate_for, step_of
from paritycheck.rollout.stats import z_for
from paritycheck.rollout.triggers import Sample, fire
from paritycheck.rollout.verdict import ADVANCE, HOLD, ROLLBACK, Missing, RolloutVerdict
from paritycheck.store import SideErrors, Store

__all__ = ["judge", "record"]


@dataclass(frozen=True, slots=True)
class _Shadow:
    """The shadow side of a step: its runs judged as one by the gate, and per window what triggers read."""

    gate: GateResult | None
    windows: tuple[Sample, ...]
    pooled: Sample


def _shadow(
    store: Store,
    period: StepPeriod,
    config: Config,
    step: RolloutStep,
    known: KnownDifferences,
    today: dt.date,
    resamples: int,
) -> _Shadow:
    if not period.runs:
        return _Shadow(None, (), Sample("the step so far", SideErrors()))
    windows = []
    for run in period.runs:
        p = window_point(store, run)
        windows.append(Sample(f"run {run.id}", p.errors, p.judged, p.matched, p.failed))
    pooled = Sample(
        "the step so far",
        sum((w.errors for w in windows), SideErrors()),
        sum(w.judged for w in windows),
        sum(w.matched for w in windows),
        sum(w.failed for w in windows),
    )
    result = evaluate_runs(
        store,
        period.run_ids,
        gate_for(step, config.gate),
        known=known,
        today=today,
        resamples=resamples,
        period=period.label,
    )
    return _Shadow(result, tuple(windows), pooled)


def _cohort_errors(requests: Sequence[LogRequest]) -> SideErrors:
    counts = {LEGACY: [0, 0], CANDIDATE: [0, 0]}
    for r in requests:
        tally = counts[r.cohort]
        tally[0] += r.error
        tally[1] += 1
    return SideErrors(counts[LEGACY][0], counts[LEGACY][1], counts[CANDIDATE][0], counts[CANDIDATE][1])


def _error_rows(step: RolloutStep, errors: SideErrors, source: str) -> list[Criterion]:
    """The candidate's error rate and its excess over the legacy's, as the step limits them."""
    rows = []
    e = errors
    if step.max_error_rate is not None:
        name = f"candidate error rate ({source})"
        if not e.candidate_asked:
            rows.append(
                Criterion(
                    name, RUN, None, step.max_error_rate, None, True, "no answer", None, NOT_JUDGED, "%"
                )
            )
        else:
            rate = 100 * e.candidate_errors / e.candidate_asked
            ok = rate <= step.max_error_rate
            note = f"{e.candidate_errors:,} of {e.candidate_asked:,} answers were 5xx or none"
            rows.append(
                Criterion(
                    name,
                    RUN,
                    rate,
                    step.max_error_rate,
                    None,
                    ok,
                    note,
                    None,
                    PASS if ok else FAIL,
                    "%",
                    "<=",
                )
            )
    if step.max_error_increase is not None and e.candidate_asked and e.legacy_asked:
        legacy = 100 * e.legacy_errors / e.legacy_asked
        delta = 100 * e.candidate_errors / e.candidate_asked - legacy
        ok = delta <= step.max_error_increase
        note = f"legacy {legacy:.3g}% ({e.legacy_errors:,} of {e.legacy_asked:,})"
        rows.append(
            Criterion(
                f"error rate increase ({source})",
                RUN,
                delta,
                step.max_error_increase,
                None,
                ok,
                note,
                None,
                PASS if ok else FAIL,
                "pts",
                "<=",
            )
        )
    return rows


def _canary_row(canary: CanaryResult) -> Criterion:
    verdict = canary.verdict
    if verdict == HIGH:
        note = "; ".join(f"{m.name} ({m.endpoint}): {m.note}" for m in canary.high[:3])
        return Criterion("cohorts", RUN, None, None, None, False, note, state=FAIL)
    if verdict == NODATA:
        note = "; ".join(f"{m.name}: {m.note}" for m in canary.unjudged[:3]) or "no requests in the logs"
        return Criterion("cohorts", RUN, None, None, None, True, note, state=NOT_JUDGED)
    return Criterion("cohorts", RUN, None, None, None, True, "the candidate cohort fares as the legacy one")


def _missing(
    step: RolloutStep,
    elapsed: float,
    exchanges: int,
    evidence: bool,
    canary: CanaryResult | None,
    criteria: Sequence[Criterion],
    running: int,
) -> list[Missing]:
    missing = []
    if elapsed < step.seconds:
        left = format_duration(step.seconds - elapsed)
        missing.append(
            Missing("time", f"{left} more (held {format_duration(elapsed)} of {step.min_duration})")
        )
    if exchanges < step.min_exchanges:
        need = step.min_exchanges - exchanges
        missing.append(
            Missing("samples", f"{need:,} more exchanges ({exchanges:,} of {step.min_exchanges:,})")
        )
    if not evidence:
        still = f" ({running} still running)" if running else ""
        missing.append(
            Missing(
                "evidence",
                f"no finished window or replay, and no cohort request, since the step began{still}",
            )
        )
    if canary is not None and canary.verdict == NODATA:
        for m in canary.unjudged[:2]:
            missing.append(Missing("samples", f"cohorts, {m.name}: {m.note}"))
    missing += [Missing("criterion", _unmet(c)) for c in criteria if not c.passed]
    return missing


def _unmet(c: Criterion) -> str:
    """``p95 ratio (GET /items/{id}): 3.000× > 1.100×``, or the criterion's note when it has no figure."""
    name = f"{c.name} ({c.endpoint})" if c.endpoint else c.name
    if c.measured is None or c.threshold is None:
        return f"{name}: {c.note}" if c.note else name
    op = "<" if c.op == ">=" else ">"
    return f"{name}: {format_value(c.measured, c.unit)} {op} {format_value(c.threshold, c.unit)}"


def _cohorts(config: Config, logs: Sequence[str | Path] | None, start: dt.datetime) -> CohortLogs | None:
    cohorts = config.rollout.cohorts
    paths = list(logs) if logs is not None else list(cohorts.logs)
    if not paths:
        return None
    rule = CohortRule(cohorts.by, tuple(cohorts.legacy), tuple(cohorts.candidate))
    return read_cohorts(paths, rule, start=start)


def _canary(config: Config, logs: CohortLogs | None, step: RolloutStep) -> CanaryResult | None:
    if logs is None or not step.canary:
        return None
    limits = config.rollout.canary
    return compare_cohorts(logs.requests, limits=limits, patterns=[rule.match for rule in config.endpoint])


def judge(
    store: Store,
    config: Config,
    *,
    logs: Sequence[str | Path] | None = None,
    known: KnownDifferences | None = None,
    now: dt.datetime | None = None,
    resamples: int = RESAMPLES,
) -> RolloutVerdict:
    """The verdict on the current step of ``store`` against ``config``'s ``[rollout]`` plan.

    ``logs`` (access logs of split traffic) replace ``[rollout.cohorts] logs``; ``now`` is for tests.
    """
    record = current(store)
    step = step_of(config, record)
    now = now or dt.datetime.now(dt.UTC)
    known = known or KnownDifferences()
    start = record.started_at
    period = step_runs(store, start)
    shadow = _shadow(store, period, config, step, known, now.date(), resamples)
    cohort_logs = _cohorts(config, logs, start)
    canary = _canary(config, cohort_logs, step)
    cohort_requests = [] if cohort_logs is None else cohort_logs.requests
    criteria = _criteria(store, step, shadow, period, cohort_requests, canary, known, now)
    z = z_for(config.gate.confidence)
    samples = [*shadow.windows, shadow.pooled]
    if cohort_logs is not None and cohort_requests:
        recent = now - dt.timedelta(seconds=config.rollout.recent_seconds)
        samples.append(Sample("the cohorts' logs since the step began", _cohort_errors(cohort_requests)))
        samples.append(
            Sample(
                f"the cohorts' logs of the last {config.rollout.recent}",
                _cohort_errors(cohort_logs.recent(recent)),
            )
        )
    fired = fire(config.rollout.rollback, ROLLBACK, samples, gate=shadow.gate, z=z)
    pages = fire(config.rollout.page, "page", samples, gate=shadow.gate, z=z)
    candidates = sum(1 for r in cohort_requests if r.cohort == CANDIDATE)
    exchanges = shadow.pooled.judged + candidates
    elapsed = max(0.0, (now - start).total_seconds())
    missing = _missing(
        step, elapsed, exchanges, bool(period.runs or cohort_requests), canary, criteria, len(period.running)
    )
    decision = ROLLBACK if fired else HOLD if missing else ADVANCE
    steps = config.rollout.step
    nxt = (
        None
        if record.step >= len(steps)
        else (record.step + 1, steps[record.step].label, steps[record.step].share)
    )
    notes = _notes(shadow.gate, cohort_logs, period)
    return RolloutVerdict(
        decision,
        record.step,
        record.label,
        record.share,
        record.started,
        elapsed,
        nxt,
        tuple(criteria),
        tuple(missing),
        fired,
        pages,
        period.run_ids,
        period.running,
        exchanges,
        len(cohort_requests),
        canary,
        notes,
        now.isoformat(timespec="seconds"),
    )


def _criteria(
    store: Store,
    step: RolloutStep,
    shadow: _Shadow,
    period: StepPeriod,
    requests: Sequence[LogRequest],
    canary: CanaryResult | None,
    known: KnownDifferences,
    now: dt.datetime,
) -> list[Criterion]:
    criteria: list[Criterion] = []
    if shadow.gate is not None:
        criteria += shadow.gate.criteria
        criteria += _error_rows(step, shadow.pooled.errors, "shadow")
        earlier = None
        if step.max_new_findings is not None:
            before = step_runs(store, dt.datetime.min.replace(tzinfo=dt.UTC), until=period.start)
            found = findings_of(store, before.run_ids[-200:], known=known, today=now.date())
            earlier = {f.signature for f in found}
        findings = findings_of(store, period.run_ids, known=known, today=now.date())
        criteria += findings_criteria(step, findings, earlier=earlier)
    if requests:
        criteria += _error_rows(step, _cohort_errors(requests), "cohort")
    if canary is not None:
        criteria.append(_canary_row(canary))
    return criteria


def _notes(gate: GateResult | None, logs: CohortLogs | None, period: StepPeriod) -> tuple[str, ...]:
    notes = list(gate.notes) if gate is not None else []
    if period.running:
        notes.append(f"{len(period.running)} run(s) still running are not judged yet")
    if logs is not None:
        if logs.undated:
            notes.append(f"{logs.undated:,} log lines carry no time: judged with this step")
        skipped = ", ".join(f"{n:,} {why}" for why, n in sorted(logs.tally.skipped.items()))
        if skipped:
            notes.append(f"access logs: {logs.tally.lines:,} lines, left out: {skipped}")
    return tuple(notes)


#: A verdict like the last one kept for its step is kept again only this much later (controllers poll).
KEEP_EVERY = 600.0


def record(store: Store, verdict: RolloutVerdict, *, every: float = KEEP_EVERY) -> int | None:
    """Keep ``verdict`` with its step (the report's timeline marks it, and shows its cohorts) when its
    decision differs from the last one kept, or that one is ``every`` seconds old; its id, or None."""
    step = current(store)
    if step.step != verdict.step:
        return None
    last = store.rollout_checks(step_id=step.id, latest=True)
    if last and last[0].decision == verdict.decision:
        kept = dt.datetime.fromisoformat(last[0].checked)
        if (dt.datetime.now(dt.UTC) - kept).total_seconds() < every:
            return None
    return store.add_check(step.id, verdict.decision, verdict.to_json())
