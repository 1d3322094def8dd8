"""The store writes rows from packed outcomes: the same rows as built from the Outcome before (issue 25)."""

from __future__ import annotations

import hashlib
import pickle
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck.compare import detail, redact, shape
from paritycheck.models import Difference, Exchange, Outcome, Reply, Request, Status, header
from paritycheck.store import Store
from paritycheck.store.packed import pack
from paritycheck.store.records import dumps, shown_value
from tests.store.storehelpers import start

_names = st.sampled_from(["content-type", "authorization", "x-api-key", "etag", "cookie", "accept"])
_values = st.sampled_from(["application/json", "text/plain", "Bearer tok-1234567", "a=b; sid=xyz", "1"])
# Bodies and errors that echo the request's secrets (found by value, issue 23).
_headers = st.lists(st.tuples(_names, _values), max_size=4).map(tuple)
_bodies = st.one_of(
    st.none(),
    st.sampled_from(
        [
            b"",
            b'{"id": 1}',
            b'{"password": "hunter2", "id": 2}',
            b"plain text",
            b"\xff\x00",
            b'{"t": "tok-1234567"}',
        ]
    ),
    st.binary(max_size=40),
)
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
_paths = st.sampled_from(["status", "header:etag", "$.token", "$.items[3].name", "$", "$.a.b"])
_differences = st.lists(
    st.builds(
        Difference,
        st.sampled_from(["changed", "added", "removed", "type", "status", "header", "order", "body"]),
        _paths,
        _json_values,
        _json_values,
        st.none() | _paths,
        st.none() | _paths,
    ),
    max_size=3,
).map(tuple)


@st.composite
def _replies(draw: st.DrawFn, legacy_body: bytes | None) -> Reply:
    body = draw(st.sampled_from([legacy_body or b""]) | _bodies.map(lambda b: b or b""))
    return Reply(
        draw(st.integers(0, 599)),
        draw(_headers),
        # Sometimes an equal body in another object: packing must store it once, as before.
        bytes(bytearray(body)),
        draw(st.floats(0, 1e4, allow_nan=False)),
        draw(st.none() | st.sampled_from(["timeout after 10 s", "connection refused", "echoed tok-1234567"])),
    )


@st.composite
def _outcomes(draw: st.DrawFn) -> Outcome:
    request = Request(
        draw(st.sampled_from(["GET", "POST"])),
        draw(
            st.sampled_from(
                [
                    "http://h/a?x=1",
                    "http://u:pw@h/b?token=abc&q=2",
                    "http://h/u/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
                    "http://h/c",
                ]
            )
        ),
        "/a",
        "x=1",
        draw(_headers),
        draw(_bodies),
    )
    exchange = Exchange(draw(st.integers(0, 10**6)), draw(st.sampled_from(["a.har", "b.jsonl"])), request)
    status = draw(st.sampled_from(list(Status)))
    if status is Status.SKIPPED:
        return Outcome(exchange, "GET /a", status, reason="unsafe method POST")
    legacy = draw(_replies(None))
    return Outcome(
        exchange,
        draw(st.sampled_from(["GET /a", "POST /b/{id}"])),
        status,
        legacy=legacy,
        candidate=draw(_replies(legacy.body)),
        differences=draw(_differences),
        reason=draw(st.none() | st.just("legacy: timeout")),
        noise=draw(_differences),
        legacy_again=draw(st.none() | _replies(legacy.body)),
    )


def _reference_body(data: bytes | None, content_type: str | None, found: redact.Found) -> str | None:
    if not data:
        return None
    return hashlib.sha256(redact.body(data, content_type, found)).hexdigest()


def _reference_reply(reply: Reply | None, found: redact.Found, *, with_headers: bool) -> tuple[Any, ...]:
    if reply is None:
        return (None,) * (5 if with_headers else 4)
    body = _reference_body(reply.body, header(reply.headers, "content-type"), found)
    error = redact.text(reply.error, found) if reply.error else reply.error
    if with_headers:
        return reply.status, reply.elapsed_ms, dumps(redact.headers(reply.headers, found)), body, error
    return reply.status, reply.elapsed_ms, body, error


def _reference_rows(run_id: int, seq: int, o: Outcome) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The rows ``Writer.add`` built from the Outcome itself before issue 25 (its code, transcribed)."""
    request = o.exchange.request
    found = redact.request_secrets(request)
    row = (
        run_id,
        seq,
        o.exchange.source,
        o.exchange.index,
        request.method,
        redact.url(request.url, found),
        o.endpoint,
        dumps(redact.headers(request.headers, found)),
        _reference_body(request.body, header(request.headers, "content-type"), found),
        *_reference_reply(o.legacy, found, with_headers=True),
        *_reference_reply(o.candidate, found, with_headers=True),
        *_reference_reply(o.legacy_again, found, with_headers=False),
        o.status.value,
        redact.text(o.reason, found) if o.reason else o.reason,
    )
    diffs = [
        (
            0,
            run_id,
            o.endpoint,
            d.kind,
            d.path,
            dumps(shown_value(d.path, d.legacy, found)),
            dumps(shown_value(d.path, d.candidate, found)),
            noise,
            shape(d.path),
            detail(d),
            d.legacy_path,
            d.candidate_path,
        )
        for noise, ds in ((0, o.differences), (1, o.noise))
        for d in ds
    ]
    return row, diffs


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, int]]:
    with pytest.MonkeyPatch.context() as mp, Store.open(tmp_path_factory.mktemp("p") / "p.db") as s:
        mp.setattr("paritycheck.store.writer.FLUSH_SECONDS", float("inf"))  # rows stay buffered
        s.batch = 10**9
        yield s, start(s)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_outcomes(), min_size=1, max_size=4))
def test_rows_from_packed_outcomes_equal_the_rows_built_from_outcomes(
    store: tuple[Store, int], outcomes: list[Outcome]
) -> None:
    s, run_id = store
    s._rows, s._diffs, s._bodies = [], [], {}
    for seq, o in enumerate(outcomes):
        # What crosses to the writer child: a pickle of the packed tuple.
        s.add_packed(run_id, seq, pickle.loads(pickle.dumps(pack(o))))
        row, diffs = _reference_rows(run_id, seq, o)
        assert s._rows[-1] == row
        assert [d[1:] for d in s._diffs[len(s._diffs) - len(diffs) :]] == [d[1:] for d in diffs]
    # Every body is kept under the digest of its redacted bytes, compressed.
    for digest, (data, size) in s._bodies.items():
        assert hashlib.sha256(zlib.decompress(data)).hexdigest() == digest
        assert size == len(zlib.decompress(data))
    s._rows, s._diffs, s._bodies = [], [], {}


def test_equal_bodies_are_packed_as_one_object() -> None:
    request = Request("GET", "http://h/a", "/a")
    body = b'{"id": 1}'
    outcome = Outcome(
        Exchange(0, "a.har", request),
        "GET /a",
        Status.MATCHED,
        legacy=Reply(200, body=body),
        candidate=Reply(200, body=bytes(bytearray(body))),
        legacy_again=Reply(200, body=bytes(bytearray(body))),
    )
    packed = pack(outcome)
    legacy, candidate, again = packed[6], packed[7], packed[8]
    assert candidate[3] is legacy[3] and again[3] is legacy[3]
    # so that pickle carries the body once
    assert pickle.dumps(packed).count(body) == 1
