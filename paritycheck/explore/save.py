"""Write generated requests as a HAR 1.2 capture, so a difference found by generation becomes a
permanent regression case that ``paritycheck replay`` reproduces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paritycheck.explore.generate import Generated

#: The origin written into saved entries; replay sends only path and query to the configured backends.
ORIGIN = "http://generated.paritycheck.invalid"


def har_entry(request: Generated) -> dict[str, Any]:
    """One HAR entry: the request only (``response`` has status 0: nothing was recorded)."""
    headers = [{"name": k, "value": v} for k, v in request.headers]
    query = [{"name": k, "value": v} for k, _, v in (p.partition("=") for p in request.query.split("&") if p)]
    entry: dict[str, Any] = {
        "startedDateTime": "1970-01-01T00:00:00.000Z",
        "time": 0,
        "comment": f"{request.operation}: {request.kind}: {request.description}",
        "request": {
            "method": request.method,
            "url": ORIGIN + request.target,
            "httpVersion": "HTTP/1.1",
            "headers": headers,
            "queryString": query,
            "cookies": [],
            "headersSize": -1,
            "bodySize": -1 if request.body is None else len(request.body),
        },
        "response": {
            "status": 0,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [],
            "cookies": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
    }
    if request.body is not None:
        mime = next(
            (v for k, v in request.headers if k.lower() == "content-type"), "application/octet-stream"
        )
        entry["request"]["postData"] = {"mimeType": mime, "text": request.body.decode("utf-8", "replace")}
    return entry


def write_har(requests: Sequence[Generated], path: Path) -> None:
    """Write ``requests`` as a HAR file at ``path`` (replaced if it exists)."""
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "paritycheck explore", "version": "1"},
            "entries": [har_entry(r) for r in requests],
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
