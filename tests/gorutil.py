"""Generate GoReplay ``.gor`` files the way ``gor --input-raw-track-response --output-file`` writes them.

Each record is a header line ``type id timestamp latency`` (type 1 request, 2 original response,
3 replayed response; ids are 24 hex digits; times in nanoseconds), the raw HTTP/1.1 message, and the
``\\n🐵🙈🙉\\n`` separator. Responses arrive interleaved with later requests, as on a busy server.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable
from pathlib import Path

SEPARATOR = "\n🐵🙈🙉\n".encode()
START_NS = 1_764_150_000_000_000_000  # 2025-11-26T09:40:00Z


def record(kind: int, rid: str, timestamp: int, payload: bytes, latency: int | None = 0) -> bytes:
    head = f"{kind} {rid} {timestamp}" + ("" if latency is None else f" {latency}")
    return head.encode() + b"\n" + payload + SEPARATOR


def request(
    method: str, target: str, *, host: str = "api.internal:8080", body: bytes = b"", **headers: str
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "User-Agent: okhttp/4.12.0"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def response(
    status: int, body: bytes, *, chunked: bool = False, gzipped: bool = False, **headers: str
) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if gzipped:
        body = gzip.compress(body)
        lines.append("Content-Encoding: gzip")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        half = len(body) // 2
        parts = [body[:half], body[half:]]
        body = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts if p) + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def traffic(
    count: int, *, seed: int = 7, replayed: bool = True, body_size: int = 200
) -> Iterable[tuple[int, bytes, bytes]]:
    """``count`` realistic exchanges: ``(number, request payload, original response payload)``."""
    rng = random.Random(seed)
    for n in range(count):
        user = rng.randint(1, 500)
        if n % 5 == 4:
            body = json.dumps({"user": user, "items": [n, n + 1]}).encode()
            req = request("POST", "/api/v1/orders?src=app", body=body, Content_Type="application/json")
            resp = response(201, json.dumps({"id": n, "pad": "x" * body_size}).encode(), chunked=n % 2 == 0)
        else:
            req = request("GET", f"/api/v1/users/{user}?fields=name,email", Authorization=f"Bearer t{user}")
            resp = response(
                200, json.dumps({"id": user, "pad": "y" * body_size}).encode(), gzipped=n % 3 == 0
            )
        yield n, req, resp


def records(count: int, **kwargs: object) -> Iterable[bytes]:
    """The records of :func:`traffic`, each response written after the next request (interleaved)."""
    replayed = bool(kwargs.pop("replayed", True))
    late: bytes | None = None
    for n, req, resp in traffic(count, **kwargs):  # type: ignore[arg-type]
        rid = f"{n:024x}"
        ts = START_NS + n * 1_000_000
        yield record(1, rid, ts, req)
        if late is not None:
            yield late
        late = record(2, rid, ts + 400_000, resp, latency=400_000)
        if replayed:
            yield record(3, rid, ts + 900_000, resp, latency=500_000)
    if late is not None:
        yield late


def write(path: Path, chunks: Iterable[bytes], *, compress: bool = False) -> Path:
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:  # type: ignore[operator]
        for chunk in chunks:
            fh.write(chunk)
    return path
