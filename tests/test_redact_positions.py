"""Property: a secret in any position of a request never survives anywhere it is kept or shown, even when
the answers echo it back, and redaction keeps comparability (equal secrets equal, different different).

Positions: secret headers, the Bearer and Basic credentials, a cookie, secret query parameters, a path
segment, a JSON value and key, a form field and the URL's user information. Echoes: in a JSON answer
(as is and percent-encoded), an HTML page, plain text, a header and a ``Location``. Where it is kept or
shown: the store (every value, bodies decompressed), a recorded capture (``--record``) and the live
summary (terminal, ``--json``).
"""

from __future__ import annotations

import base64
import html
import json
import string
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paritycheck.common.secrets import looks_random
from paritycheck.compare import redact
from paritycheck.gate import LiveSummary
from paritycheck.models import Difference, Exchange, Headers, Outcome, Recorded, Reply, Request, Status
from paritycheck.store import Store
from tests.secretcase import database_text

#: Characters a secret is drawn from: what can stand in a header or a cookie without quoting.
ALPHABET = string.ascii_letters + string.digits + "-._~!$*()+/=:@"
B64URL = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits

# Upper case letters appear in no mark, so a secret with one found in the output is a leak, never a mark.
texts = st.text(ALPHABET, min_size=8, max_size=40).filter(lambda s: any(c.isupper() for c in s))


def _fixed(prefix: str, alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size).map(lambda tail: prefix + tail)


jwts = st.tuples(*(st.text(B64URL, min_size=12, max_size=40) for _ in range(3))).map(
    lambda parts: "eyJ" + ".".join(parts)
)
prefixed = st.one_of(
    _fixed("ghp_", ALNUM, 36),
    _fixed("github_pat_", ALNUM + "_", 40),
    _fixed("xoxb-", ALNUM + "-", 24),
    _fixed("AKIA", string.ascii_uppercase + string.digits, 16),
    _fixed("sk_live_", ALNUM, 24),
    _fixed("AIza", B64URL, 35),
    _fixed("glpat-", B64URL, 20),
)
#: Secrets recognised by their look alone, in any position.
tokens = st.one_of(jwts, prefixed)
#: Random strings: secrets by their look only in a URL (bodies are full of random ids).
randoms = (
    st.randoms(use_true_random=True).map(lambda r: "".join(r.choices(B64URL, k=32))).filter(looks_random)
)


def request_with(position: str, secret: str, other: str) -> Request:
    """A request carrying ``secret`` at ``position`` and ``other`` in its ``X-Api-Key``."""
    headers: list[tuple[str, str]] = [("x-api-key", other), ("accept", "application/json")]
    url, path, query, body = "https://prod.test/api/v1/items", "/api/v1/items", "page=2", None
    kind, _, name = position.partition(" ")
    if kind == "header":
        headers.append((name, secret))
    elif position == "bearer":
        headers.append(("authorization", f"Bearer {secret}"))
    elif position == "basic":
        headers.append(("authorization", "Basic " + base64.b64encode(f"ann:{secret}".encode()).decode()))
    elif position == "cookie":
        headers.append(("cookie", f"theme=dark; sid={secret}"))
    elif kind == "query":
        query = f"page=2&{name}={quote(secret, safe='')}"
    elif position == "path":
        path = f"/api/v1/items/{secret}/view"
    elif kind == "json":
        doc: dict[str, Any] = {"user": "ann"}
        if name == "key":
            doc[secret] = 1
        elif name == "credentials.key":
            doc["credentials"] = {"key": secret}
        else:
            doc[name] = secret
        body = json.dumps(doc).encode()
        headers.append(("content-type", "application/json"))
    elif position == "form":
        body = f"user=ann&password={quote_plus(secret)}".encode()
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif position == "userinfo":
        url = f"https://ann:{quote(secret, safe='')}@prod.test/api/v1/items"
    url = url.replace("/api/v1/items", path) + f"?{query}"
    return Request("POST" if body else "GET", url, path, query, tuple(headers), body)


def answer(echo: str, value: str) -> Reply:
    """An answer that hands ``value`` back in the way ``echo`` names."""
    json_type: Headers = (("content-type", "application/json"),)
    if echo == "json":
        return Reply(200, json_type, json.dumps({"echo": f"you sent {value}", "n": 1}).encode())
    if echo == "json-encoded":
        return Reply(200, json_type, json.dumps({"next": f"/x?v={quote(value, safe='')}"}).encode())
    if echo == "html":
        return Reply(200, (("content-type", "text/html"),), f"<p>{html.escape(value)}</p>".encode())
    if echo == "text":
        return Reply(200, (("content-type", "text/plain"),), f"you sent {value}\n".encode())
    if echo == "header":
        return Reply(200, (("x-echo", f"you sent {value}"),), b"")
    return Reply(302, (("location", f"https://app.test/cb?next={quote(value, safe='')}&state=1"),), b"")


POSITIONS = [
    "header x-session", "header x-csrf-token", "header x-auth-token", "bearer", "basic", "cookie",
    "query api_key", "query access_token", "query token", "query password", "query sig", "path",
    "json password", "json session", "json jwt", "json credentials.key", "json key", "form", "userinfo",
]  # fmt: skip
ECHOES = ["json", "json-encoded", "html", "text", "header", "location"]
#: What each position can hold: where no name says it, only a secret's look can tell it is one.
HOLDS = {"path": st.one_of(tokens, randoms), "json key": tokens}


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, str, str]:
    position = draw(st.sampled_from(POSITIONS))
    secret = draw(HOLDS.get(position, st.one_of(texts, tokens, randoms)))
    other = draw(texts)
    assume(secret not in other and other not in secret)
    return position, draw(st.sampled_from(ECHOES)), secret, other


def outcomes(request: Request, echo: str, secret: str, other: str) -> list[Outcome]:
    """Two exchanges of ``request``: both backends echo the same secret; then each echoes another."""
    same = Outcome(
        Exchange(0, "p.har", request, recorded=_recorded(answer(echo, secret))),
        "GET /api/v1/items",
        Status.MATCHED,
        legacy=answer(echo, secret),
        candidate=answer(echo, secret),
    )
    changed = Difference("changed", "$.echo", f"you sent {secret}", f"you sent {other}")
    apart = Outcome(
        Exchange(1, "p.har", request),
        "GET /api/v1/items",
        Status.MISMATCHED,
        legacy=answer(echo, secret),
        candidate=answer(echo, other),
        differences=(changed,),
    )
    return [same, apart]


def _recorded(reply: Reply) -> Recorded:
    return Recorded(reply.status, reply.headers, reply.body)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_a_secret_in_any_position_never_survives_and_keeps_comparability(
    case: tuple[str, str, str, str],
) -> None:
    position, echo, secret, other = case
    request = request_with(position, secret, other)
    same, apart = outcomes(request, echo, secret, other)
    live = LiveSummary()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "p.db"
        with Store.open(db) as store:
            run_id = store.start_run(tool_version="t", config={}, backends={}, captures=[])
            for outcome in (same, apart):
                store.add(run_id, outcome)
                live.add(outcome)
            store.finish_run(run_id, status="complete")
            stored = {x.entry: x for x in store.exchanges(run_id)}
        kept = database_text(db)
    shown = {
        "store": kept,
        "record": repr(redact.exchange(same.exchange)),
        "live summary": json.dumps(live.summary().to_json(), ensure_ascii=False),
    }
    for where, text in shown.items():
        for value in {secret, quote(secret, safe=""), quote_plus(secret), html.escape(secret)}:
            assert value not in text, (where, position, echo)
    # Comparability: the same echo stores the same body; different echoes store different bodies and a
    # difference whose two sides still differ.
    first, second = stored[0], stored[1]
    assert first.legacy is not None and first.candidate is not None
    assert (first.legacy.body, first.legacy.headers) == (first.candidate.body, first.candidate.headers)
    assert second.legacy is not None and second.candidate is not None
    assert (second.legacy.body, second.legacy.headers) != (second.candidate.body, second.candidate.headers)
    (difference,) = second.differences
    assert difference.legacy != difference.candidate
