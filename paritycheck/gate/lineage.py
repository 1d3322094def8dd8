"""Like with like: which earlier runs a run may be compared with.

Two runs are comparable when they replayed the **same traffic** and compared it under the **same
rules**. The traffic is the captures' SHA-256 digests (in any order) with the ``[replay]`` selection
(``include``, ``exclude``, ``allow_writes``); a live window's traffic is its source (the mode and the
listening address, ``live proxy 0.0.0.0:8080``), so the windows of one listener compare with each
other. The rules are the ``[normalise]``, ``[[endpoint]]``, ``[noise]`` and ``[streams]`` settings
stored with the run. Both are read from what every run already stores (``runs.captures``,
``runs.config``), over today's defaults, so a setting added by a later version (stored by new runs,
missing from old ones) does not make old runs foreign.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from paritycheck.config import EndpointRule, NoiseConfig, NormaliseConfig, ReplayConfig, StreamsConfig
from paritycheck.store import RunInfo

__all__ = ["RULE_SECTIONS", "Lineage", "lineage", "rules_hash", "traffic_hash"]

#: The configuration sections that decide what counts as a difference.
RULE_SECTIONS = ("normalise", "endpoint", "noise", "streams")
#: The ``[replay]`` settings that decide which of the captures' requests are replayed.
SELECTION = ("include", "exclude", "allow_writes")
_SECTIONS: dict[str, Any] = {
    "normalise": NormaliseConfig,
    "noise": NoiseConfig,
    "streams": StreamsConfig,
    "replay": ReplayConfig,
}
#: How a live window names its traffic (``live proxy 0.0.0.0:8080 window from 2026-11-25T22:40:00+00:00``),
#: read when the run predates the ``live`` member of its capture record.
_WINDOW = re.compile(r"(.+) window from \S+")


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a run is comparable by: short hashes of its traffic and of its rules."""

    traffic: str
    rules: str


def lineage(run: RunInfo) -> Lineage:
    """The traffic and rules of ``run``; runs with equal lineages are compared with each other."""
    return Lineage(traffic_hash(run), rules_hash(_config(run)))


def _config(run: RunInfo) -> dict[str, Any]:
    return run.config if isinstance(run.config, dict) else {}


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """A stored section over today's defaults (a setting a run did not store had its default)."""
    stored = config.get(name)
    defaults = dataclasses.asdict(_SECTIONS[name]())
    return {**defaults, **stored} if isinstance(stored, dict) else defaults


def rules_hash(config: dict[str, Any]) -> str:
    """A short hash of the effective comparison rules stored with a run."""
    rules: dict[str, Any] = {name: _section(config, name) for name in ("normalise", "noise", "streams")}
    defaults = dataclasses.asdict(EndpointRule())
    rules["endpoint"] = [
        {**defaults, **rule} if isinstance(rule, dict) else rule for rule in config.get("endpoint") or ()
    ]
    return _digest(rules)


def traffic_hash(run: RunInfo) -> str:
    """A short hash of what ``run`` replayed: its captures' digests and the ``[replay]`` selection."""
    replay = _section(_config(run), "replay")
    sources = sorted(_source(c) for c in run.captures if isinstance(c, dict))
    return _digest({"captures": sources, "selection": {k: replay.get(k) for k in SELECTION}})


def _source(capture: dict[str, Any]) -> str:
    if capture.get("digest"):
        return f"sha256:{capture['digest']}"
    if capture.get("live"):
        return f"live:{capture['live']}"
    name = str(capture.get("name", ""))
    window = _WINDOW.fullmatch(name)
    return f"live:{window[1]}" if window else f"name:{name}"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]
