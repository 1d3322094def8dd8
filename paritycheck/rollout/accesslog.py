"""Access logs that routers already write, read as requests tagged with the cohort that served them.

Once real users are split between the backends, the router's access log says, for every request, which
backend answered, with what status and how fast. Three JSON-lines shapes are read, told apart per line
by their keys (docs/rollout.md gives the configuration that produces each):

- **nginx** with a JSON ``log_format`` (``escape=json``): ``request_method``, ``request_uri`` (or
  ``uri``), ``status``, ``request_time`` or ``upstream_response_time`` in seconds, ``upstream_addr``,
  ``time_iso8601`` or ``msec``; a header ``$http_x_canary`` appears as ``http_x_canary``.
- **Envoy / Istio** JSON access log: ``method``, ``path``, ``response_code``, ``duration`` in ms,
  ``upstream_cluster`` / ``upstream_host``, ``response_flags``, ``start_time``.
- **paritycheck's own** lines: ``method``, ``path``, ``status``, ``ms``, ``cohort``, ``time``.

The cohort comes from ``by``: ``"upstream"`` (the upstream cluster, host or address), ``"cohort"`` (a
field that names it), or ``"header:NAME"`` / any other key of the line; its value is matched against
the glob patterns of each cohort. A line of neither cohort, or one that is not JSON, is counted, never
guessed. Query strings are dropped: endpoints are named by path templates.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from paritycheck.errors import CaptureError

__all__ = ["CANDIDATE", "LEGACY", "CohortRule", "LogRequest", "LogTally", "read_access_log"]

LEGACY = "legacy"
CANDIDATE = "candidate"

#: Envoy response flags that mean the router, not the backend, failed the request (no healthy
#: upstream, connection failure, reset, timeout): an error of that cohort even with a 0 status.
_ENVOY_FAILURE_FLAGS = frozenset({"UH", "UF", "UO", "NR", "URX", "UC", "UT", "UPE", "LR", "UMSDR", "DT"})


@dataclass(frozen=True, slots=True)
class LogRequest:
    """One request of a cohort: when it started (UTC, or None), method, path, status, duration."""

    cohort: str
    method: str
    path: str
    status: int
    ms: float | None
    at: dt.datetime | None = None

    @property
    def error(self) -> bool:
        """A server error, or no answer at all (status 0: reset, timeout, no upstream)."""
        return self.status >= 500 or self.status == 0


@dataclass(frozen=True, slots=True)
class CohortRule:
    """How a line's cohort is told: the key (``by``) and the glob patterns of each cohort's value."""

    by: str = "upstream"
    legacy: tuple[str, ...] = ()
    candidate: tuple[str, ...] = ()

    def cohort(self, value: str | None) -> str | None:
        if value is None:
            return None
        for name, patterns in ((CANDIDATE, self.candidate), (LEGACY, self.legacy)):
            if any(fnmatch.fnmatchcase(value, p) for p in patterns):
                return name
        return None


@dataclass(slots=True)
class LogTally:
    """What reading the logs came to: lines read, and those left out with why."""

    lines: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _first(line: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = line.get(key)
        if value not in (None, "", "-"):
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        # nginx writes "0.012, 0.030" (or "0.012 : 0.030") when it tried several upstreams: the last
        # one answered.
        text = value.replace(":", ",").split(",")[-1].strip()
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _when(line: dict[str, Any]) -> dt.datetime | None:
    msec = _number(line.get("msec"))
    if msec is not None:
        return dt.datetime.fromtimestamp(msec, tz=dt.UTC)
    text = _first(line, "time_iso8601", "start_time", "time", "timestamp", "@timestamp")
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _value(line: dict[str, Any], by: str) -> str | None:
    if by == "upstream":
        value = _first(line, "upstream_cluster", "upstream_host", "upstream_addr", "upstream", "cohort")
        if isinstance(value, str):
            # nginx lists every upstream it tried ("10.0.1.5:8080, 10.0.2.7:8080", " : " between
            # groups): the last one answered, as for its upstream_response_time.
            value = value.replace(" : ", ", ").split(", ")[-1].strip()
    elif by.lower().startswith("header:"):
        name = by.split(":", 1)[1].strip().lower()
        snake = name.replace("-", "_")
        value = _first(line, f"http_{snake}", snake, name, f"req_{snake}")
    else:
        value = _first(line, by)
    return None if value is None else str(value)


def _request(line: dict[str, Any], rule: CohortRule, tally: LogTally) -> LogRequest | None:
    cohort = rule.cohort(_value(line, rule.by))
    if cohort is None:
        tally.skip("neither cohort")
        return None
    method = _first(line, "request_method", "method")
    target = _first(line, "request_uri", "uri", "path", "x_envoy_original_path")
    if not isinstance(method, str) or not isinstance(target, str) or not method.isalpha():
        tally.skip("no method or path")
        return None
    status = _number(_first(line, "status", "response_code", "code"))
    if status is None:
        status = 0.0
    flags = str(line.get("response_flags") or "")
    if any(flag in _ENVOY_FAILURE_FLAGS for flag in flags.split(",")):
        status = 0.0 if status < 500 else status
    if "ms" in line or "duration" in line:
        ms = _number(_first(line, "ms", "duration"))
    else:
        seconds = _number(_first(line, "upstream_response_time", "request_time"))
        ms = None if seconds is None else seconds * 1000.0
    path = target.split("?", 1)[0].split("#", 1)[0] or "/"
    return LogRequest(cohort, method.upper(), path, int(status), ms, _when(line))


def read_access_log(paths: Sequence[str | Path], rule: CohortRule, tally: LogTally) -> Iterator[LogRequest]:
    """The requests of both cohorts in ``paths`` (JSON lines), in file order; ``tally`` counts the rest."""
    for path in paths:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by the with below, after the first read error check
        except OSError as exc:
            raise CaptureError(
                f"cannot read access log: {exc.strerror}", file=str(path), hint="pass a readable file"
            ) from None
        with fh:
            yield from _lines(fh, rule, tally)


def _lines(fh: Iterable[bytes], rule: CohortRule, tally: LogTally) -> Iterator[LogRequest]:
    for raw in fh:
        if not raw.strip():
            continue
        tally.lines += 1
        try:
            line = orjson.loads(raw)
        except ValueError:
            tally.skip("not JSON")
            continue
        if not isinstance(line, dict):
            tally.skip("not a JSON object")
            continue
        request = _request(line, rule, tally)
        if request is not None:
            tally.used += 1
            yield request
