"""What the store reads back: frozen records of runs, exchanges, replies, difference groups and
contract checks, and how values are encoded in and decoded from SQLite (JSON text, redacted)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from paritycheck.common.jsonpath import wildcard
from paritycheck.compare import bounded, endpoint_method, redact, risk, wire_paths
from paritycheck.models import Difference, Headers, Status

# ---------------------------------------------------------------------------------------------- records

VOLATILE = "volatile header"
LEARNED = "legacy re-asks differed"
CLOCK = "instants read during the run"
#: Buffered outcomes wait at most this long (seconds) before they are written, however few: a process
#: killed without a goodbye (SIGKILL, OOM) loses at most this much of a slow run, not a whole batch.
FLUSH_SECONDS = 1.0
ELSEWHERE = "differed on every legacy re-ask of other endpoints"


@dataclass(frozen=True, slots=True)
class NoisePath:
    """One (endpoint, wildcard path) classed as noise, with the evidence.

    ``samples`` legacy re-asks of the endpoint, ``differed`` of them differed at ``path``; ``raw`` of the
    ``total`` legacy-vs-candidate comparisons differed there. ``kinds`` are the difference kinds the
    re-asks showed (empty: any kind, as for a volatile header); only those are ignored.
    """

    endpoint: str
    path: str
    samples: int
    differed: int
    raw: int
    total: int
    reason: str
    kinds: tuple[str, ...] = ()

    def describe(self) -> str:
        """``5/5 legacy re-asks differed`` or ``volatile header``."""
        if self.reason == VOLATILE:
            return VOLATILE
        if self.reason.startswith(ELSEWHERE):
            return self.reason
        if self.reason == CLOCK:
            return f"{self.differed}/{self.total} answers: {CLOCK}, both backends' clocks within tolerance"
        return f"{self.differed}/{self.samples} {LEARNED}"

    def covers(self, difference: Difference) -> bool:
        """Whether ``difference`` (of this endpoint) is one of the noise this path stands for."""
        return wildcard(difference.path) == self.path and (not self.kinds or difference.kind in self.kinds)

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "samples": self.samples, "differed": self.differed}


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as stored. Totals of a run that never finished are counted from its exchanges."""

    id: int
    started: str
    ended: str | None
    status: str
    tool_version: str
    config: dict[str, Any]
    backends: dict[str, str]
    captures: list[dict[str, str]]
    total: int
    matched: int
    mismatched: int
    failed: int
    skipped: int
    meta: dict[str, Any]
    #: The run's name (``replay --run-name``, every sharded or worker-split run); None when unnamed.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """One backend's stored answer: redacted headers and the digest of its redacted body."""

    status: int
    elapsed_ms: float
    headers: Headers
    body: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredExchange:
    """One stored outcome; bodies are digests to pass to :meth:`Store.body`."""

    id: int
    run_id: int
    seq: int
    source: str
    entry: int
    method: str
    url: str
    endpoint: str
    request_headers: Headers
    request_body: str | None
    legacy: StoredReply | None
    candidate: StoredReply | None
    legacy_again: StoredReply | None
    outcome: Status
    reason: str | None
    differences: tuple[Difference, ...]
    noise: tuple[Difference, ...]


@dataclass(frozen=True, slots=True)
class DifferenceGroup:
    """One finding: the differences of one run with the same (endpoint, kind, shape, detail).

    ``path`` is the shape (``$.items[*].id``); ``example_path`` the first occurrence's concrete path;
    ``detail`` the status or type pair (``200→201``, ``null→string``), empty for other kinds.
    """

    endpoint: str
    kind: str
    path: str
    count: int
    legacy: Any
    candidate: Any
    exchange_ids: tuple[int, ...]
    detail: str = ""
    example_path: str = ""
    #: Where each side wrote the first occurrence on the wire, when normalisation renamed a key.
    legacy_wire: str | None = None
    candidate_wire: str | None = None

    @property
    def wire(self) -> dict[str, str]:
        """Each side's wire path, as a shape, where it differs from ``path`` (:func:`wire_paths`)."""
        return wire_paths(self.kind, self.path, self.legacy_wire, self.candidate_wire)

    @property
    def risk(self) -> str:
        """The risk grade (:func:`paritycheck.compare.risk`)."""
        return risk(self.kind, self.path, self.detail, method=endpoint_method(self.endpoint))


# ---------------------------------------------------------------------------------------------- encoding


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers past 64 bits, Decimal, ...: the slower encoder copes or stringifies
        return json.dumps(value, default=str, ensure_ascii=False)


def loads(text: str) -> Any:
    # json, not orjson: orjson reads integers past 64 bits as floats, and values must survive exactly.
    return json.loads(text)


def decode_headers(text: str | None) -> Headers:
    return tuple((k, v) for k, v in orjson.loads(text)) if text else ()


_LAST_NAME = re.compile(r"""(?:\.([^.\[\]'"]+)|\['((?:[^'\\]|\\.)*)'\])$""")


def redact_value(path: str, value: Any, found: redact.Found = ()) -> Any:
    """Redact one difference value, using the header name or the last key of its JSONPath, and the
    request's secret values ``found`` (:func:`paritycheck.compare.redact.request_secrets`)."""
    if value is None:
        return None
    if isinstance(value, str):  # compare cut a long text to a window: its edges may split a secret
        value = redact.cut_edges(value, found)
    if path.startswith("header:"):
        return redact.header_value(path[7:], value, found) if isinstance(value, str) else value
    if not path.startswith("$"):
        if isinstance(value, str):
            return redact.body(value.encode("utf-8", "surrogatepass"), None, found).decode(errors="replace")
        return value
    match = _LAST_NAME.search(path)
    name = (match.group(1) or match.group(2)) if match else None
    if name is None:
        return redact.json_value(value, found)
    # Wrapped under its own key so that key-based redaction (password, token, ...) sees it.
    return next(iter(redact.json_value({name: value}, found).values()))


def shown_value(path: str, value: Any, found: redact.Found = ()) -> Any:
    """A difference value as it may be stored or shown: redacted, then bounded."""
    return bounded(redact_value(path, value, found))


def stored_value(path: str, value: Any, found: redact.Found = ()) -> Any:
    """A difference value exactly as the store keeps and returns it: redacted, bounded, through JSON."""
    return loads(dumps(shown_value(path, value, found)))


def stored_reply(
    status: int | None, ms: float, headers: str | None, body: str | None, error: str | None
) -> StoredReply | None:
    return None if status is None else StoredReply(status, ms, decode_headers(headers), body, error)


def exchange_from_row(
    row: tuple[Any, ...], diffs: tuple[Difference, ...], noise: tuple[Difference, ...]
) -> StoredExchange:
    (xid, run_id, seq, source, entry, method, url, endpoint, req_headers, req_body, *rest) = row
    legacy, candidate = stored_reply(*rest[0:5]), stored_reply(*rest[5:10])
    again = stored_reply(rest[10], rest[11], None, rest[12], rest[13])
    return StoredExchange(
        xid,
        run_id,
        seq,
        source,
        entry,
        method,
        url,
        endpoint,
        decode_headers(req_headers),
        req_body,
        legacy,
        candidate,
        again,
        Status(rest[14]),
        rest[15],
        diffs,
        noise,
    )


@dataclass(frozen=True, slots=True)
class ContractCheck:
    """One contract check of a run: the spec (name, sha256), ``raw`` or ``normalised``, its summary."""

    id: int
    run_id: int
    spec: str
    digest: str
    title: str
    mode: str
    checked: str
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StoredViolation:
    """One stored contract violation; ``exchange_id`` links it to its exchange."""

    exchange_id: int | None
    side: str
    operation: str
    status: int
    path: str
    keyword: str
    message: str
    value: Any
