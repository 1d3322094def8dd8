"""The plan of ``[rollout]`` read against the store: which step is current, what it demands, and
``rollout start STEP`` (recording that a step began)."""

from __future__ import annotations

import dataclasses
from typing import Any

from paritycheck.config import Config, GateConfig
from paritycheck.config_rollout import RolloutStep
from paritycheck.errors import ConfigError, StoreError
from paritycheck.store import StepRecord, Store

__all__ = ["current", "find_step", "gate_for", "plan_of", "start_step", "step_of"]

_GATE_KEYS = ("min_parity", "max_failed", "max_p95_ratio", "max_p95_ms", "min_samples")


def _no_plan(config: Config) -> ConfigError:
    where = config.source or "the configuration (none was found)"
    return ConfigError(
        f"{where} has no [[rollout.step]]",
        hint="list the steps in paritycheck.toml, e.g. [[rollout.step]] share = 10 (docs/rollout.md)",
    )


def find_step(config: Config, which: str) -> int:
    """The 1-based number of the step ``which`` names: its number, its share (``25%``) or its name."""
    steps = config.rollout.step
    if not steps:
        raise _no_plan(config)
    text = which.strip()
    if text.isdigit() and 1 <= int(text) <= len(steps):
        return int(text)
    for i, step in enumerate(steps, 1):
        if text in (step.label, step.name) or text.rstrip("%") == f"{step.share:g}":
            return i
    listed = ", ".join(f"{i} ({s.label})" for i, s in enumerate(steps, 1))
    raise ConfigError(f"there is no rollout step {which!r}", hint=f"the steps: {listed}")


def step_of(config: Config, record: StepRecord) -> RolloutStep:
    """The configured step a recorded one stands for; a ConfigError when the plan no longer has it."""
    steps = config.rollout.step
    if not steps:
        raise _no_plan(config)
    if record.step > len(steps):
        raise ConfigError(
            f"step {record.step} ({record.label}) began, but [rollout] now lists {len(steps)} step(s)",
            hint="start a step the plan has: paritycheck rollout start N",
        )
    return steps[record.step - 1]


def current(store: Store) -> StepRecord:
    """The step begun last; a StoreError naming the command that starts one."""
    record = store.current_step()
    if record is None:
        raise StoreError(
            f"no rollout step has begun in {store.path}",
            hint="run `paritycheck rollout start 1` when step 1's traffic moves",
        )
    return record


def gate_for(step: RolloutStep, gate: GateConfig) -> GateConfig:
    """``[gate]`` with the step's own criteria over it; a period is judged as one, so no streaks."""
    own = {key: getattr(step, key) for key in _GATE_KEYS if getattr(step, key) is not None}
    return dataclasses.replace(gate, min_consecutive_passes=0, **own)


def plan_of(step: RolloutStep, gate: GateConfig) -> dict[str, Any]:
    """What a step demands, with ``[gate]``'s values where it sets none (kept with the step's start)."""
    effective = gate_for(step, gate)
    return {
        "share": step.share,
        "min_duration": step.min_duration,
        "min_exchanges": step.min_exchanges,
        **{key: getattr(effective, key) for key in _GATE_KEYS},
        "max_error_rate": step.max_error_rate,
        "max_error_increase": step.max_error_increase,
        "max_findings": dict(step.max_findings),
        "max_new_findings": step.max_new_findings,
    }


def start_step(
    store: Store,
    config: Config,
    which: str,
    *,
    source: dict[str, Any] | None = None,
    started: str | None = None,
) -> StepRecord:
    """Record in ``store`` that step ``which`` began (now, or at ``started``, ISO 8601)."""
    number = find_step(config, which)
    step = config.rollout.step[number - 1]
    return store.start_step(
        number,
        label=step.label,
        share=step.share,
        plan=plan_of(step, config.gate),
        source=source or {"by": "cli"},
        started=started,
    )
