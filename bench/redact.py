"""Measure what redaction costs per exchange: the URL, the request's headers and body, and the headers and
bodies of the legacy and candidate answers (~1 KB JSON each), as the store redacts them.

Run: .venv/bin/python bench/redact.py [--n 5000] [--repeat 5]

Three kinds of exchange: ``plain`` (an ``Authorization`` header, nothing echoed), ``credentials`` (a JWT,
a session cookie, an API key and a token in the query, nothing echoed) and ``echoed`` (the same, with
the answers handing the API key back). Bodies are all distinct, so no cache helps (the store's caches
do help with repeated bodies and header sets). Prints the median of ``--repeat`` rounds in us of CPU
per exchange (process time, which other work on a shared machine disturbs less than wall time).

It also runs against versions of the package from before issue 23 (redaction without the request's
secrets): put that version first on ``PYTHONPATH`` and alternate the two invocations.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.compare import redact
from paritycheck.models import Request

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
REPLY_HEADERS = (
    ("content-type", "application/json"),
    ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ("server", "bench"),
    ("cache-control", "no-cache"),
)


def body(i: int, echo: str = "") -> bytes:
    items = [
        {"id": i * 100 + k, "sku": f"{(i * 7919 + k * 104729) % 999983:x}", "price": (i * 7 + k) / 100}
        for k in range(26)
    ]
    doc: dict[str, Any] = {"data": {"items": items, "page": i}}
    if echo:
        doc["note"] = f"key {echo} accepted"
    return orjson.dumps(doc)


def request(i: int, kind: str) -> Request:
    if kind == "plain":
        headers: tuple[tuple[str, str], ...] = (
            ("accept", "application/json"),
            ("authorization", "Bearer abc"),
        )
        return Request(
            "GET", f"http://legacy.test/api/items/{i}?page=2", f"/api/items/{i}", "page=2", headers
        )
    headers = (
        ("accept", "application/json"),
        ("authorization", f"Bearer {JWT}"),
        ("cookie", f"session=s{i:08d}-f3a9c2e1b7d4; theme=dark"),
        ("x-api-key", f"ak-{i:06d}-7f3a9c2e"),
    )
    query = f"page=2&access_token=tok-{i:06d}-9c2e1b"
    return Request("GET", f"http://legacy.test/api/items/{i}?{query}", f"/api/items/{i}", query, headers)


def exchanges(n: int, kind: str) -> list[tuple[Request, bytes, bytes]]:
    out = []
    for i in range(n):
        echo = f"ak-{i:06d}-7f3a9c2e" if kind == "echoed" else ""
        out.append(
            (request(i, "plain" if kind == "plain" else "credentials"), body(i, echo), body(i + 1, echo))
        )
    return out


def redact_all(items: list[tuple[Request, bytes, bytes]]) -> None:
    """What the store does to one exchange, for every exchange of ``items``."""
    secrets: Callable[[Request], Any] | None = getattr(redact, "request_secrets", None)
    for req, legacy, candidate in items:
        if secrets is None:  # before redaction knew the request's secret values
            redact.url(req.url)
            redact.headers(req.headers)
            for data in (legacy, candidate):
                redact.headers(REPLY_HEADERS)
                redact.body(data, "application/json")
        else:
            found = secrets(req)
            redact.url(req.url, found)
            redact.headers(req.headers, found)
            for data in (legacy, candidate):
                redact.headers(REPLY_HEADERS, found)
                redact.body(data, "application/json", found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for kind in ("plain", "credentials", "echoed"):
        items = exchanges(args.n, kind)
        rounds = []
        for _ in range(args.repeat):
            t0 = time.process_time()
            redact_all(items)
            rounds.append((time.process_time() - t0) / args.n * 1e6)
        median = statistics.median(rounds)
        print(f"{kind:>11}: {median:6.1f} us of CPU per exchange (median of {args.repeat})")


if __name__ == "__main__":
    main()
