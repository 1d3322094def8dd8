"""What the controllers that move traffic are answered, from the current verdict.

**Flagger** POSTs a JSON payload (``name``, ``namespace``, ``phase``, ``checksum``, ``metadata``) to its
webhooks and reads the status code: 2xx lets it go on, anything else holds it (docs/rollout.md):

- ``confirm-rollout`` (before the canary is scaled up): 200 when there is a plan; step 1 begins;
- ``confirm-traffic-increase`` (before each weight increase): 200 on **advance**; the next step begins;
- ``confirm-promotion`` (before the promotion to all traffic): 200 on **advance** when the next step is the
  plan's last (or there is none); that step begins;
- ``rollback`` (polled while progressing or waiting): 200 on **roll back**, which makes Flagger fail the
  canary and move traffic back.

Every "no" is 409 with the verdict's headline in the body, which Flagger puts in its events.

**Argo Rollouts**' ``web`` metric reads :func:`argo_answer`'s JSON (always 200, so that its
``successCondition`` / ``failureCondition`` decide); a ``step`` in the query says which step the
controller is at, and that step begins the first time it is heard of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.rollout.verdict import ADVANCE, HOLD, ROLLBACK, RolloutVerdict
from paritycheck.store import StepRecord

__all__ = ["FLAGGER_HOOKS", "HookAnswer", "argo_answer", "check_payload", "flagger_answer"]

FLAGGER_HOOKS = ("confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "rollback")
NO = 409


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """An HTTP answer: status, JSON body, and the step (1-based) to record as begun, if any."""

    status: int
    body: dict[str, Any]
    start: int | None = None


def check_payload(payload: Any) -> str | None:
    """Why ``payload`` is not a Flagger webhook payload, or None (name and namespace are required)."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    for key in ("name", "namespace"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            return f"the payload has no {key!r} string"
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "metadata is not an object"
    return None


def _summary(verdict: RolloutVerdict | None) -> dict[str, Any]:
    if verdict is None:
        return {"decision": HOLD, "headline": "no rollout step has begun"}
    return {"decision": verdict.decision, "headline": verdict.headline, "step": verdict.step}


def _same_canary(record: StepRecord | None, payload: dict[str, Any]) -> bool:
    """Whether step 1 already began for this canary revision (Flagger retries a hook it got no answer to)."""
    if record is None or record.step != 1:
        return False
    source = record.source
    keys = ("name", "namespace", "checksum")
    return source.get("by") == "flagger" and all(source.get(k) == payload.get(k) for k in keys)


def flagger_answer(
    hook: str,
    payload: dict[str, Any],
    verdict: RolloutVerdict | None,
    *,
    record: StepRecord | None,
    steps: int,
) -> HookAnswer:
    """The answer to Flagger's ``hook`` given the current ``verdict`` (None before any step began)."""
    body = _summary(verdict)
    if hook == "confirm-rollout":
        if not steps:
            return HookAnswer(
                503, {"decision": HOLD, "headline": "the configuration has no [[rollout.step]]"}
            )
        begin = None if _same_canary(record, payload) else 1
        return HookAnswer(200, {"decision": ADVANCE, "headline": "step 1 begins", "step": 1}, begin)
    if hook == "rollback":
        return HookAnswer(200 if verdict is not None and verdict.decision == ROLLBACK else NO, body)
    if verdict is None or verdict.decision != ADVANCE:
        return HookAnswer(NO, body)
    nxt = verdict.next_step
    if hook == "confirm-traffic-increase":
        return HookAnswer(200, body, None if nxt is None else nxt[0])
    if nxt is not None and nxt[0] < steps:  # confirm-promotion before the plan's last step
        number, label, _ = nxt
        headline = f"the plan holds step {number} ({label}) before the last one: promote from there"
        return HookAnswer(NO, {**body, "decision": HOLD, "headline": headline})
    return HookAnswer(200, body, None if nxt is None else nxt[0])


def argo_answer(verdict: RolloutVerdict | None) -> dict[str, Any]:
    """The JSON an Argo Rollouts ``web`` metric reads: the verdict, or a hold before any step began."""
    if verdict is None:
        return {
            "decision": HOLD,
            "headline": "no rollout step has begun",
            "missing": [{"what": "step", "detail": "no rollout step has begun"}],
        }
    return verdict.to_json()
