"""Build small HAR files for tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def entry(
    method: str,
    url: str,
    *,
    body: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    status: int = 200,
    response: str = "{}",
) -> dict[str, Any]:
    """One HAR 1.2 entry as a browser would export it."""
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": n, "value": v} for n, v in headers],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(body or ""),
    }
    if body is not None:
        request["postData"] = {"mimeType": "application/json", "text": body}
    return {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 1.0,
        "request": request,
        "response": {
            "status": status,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "cookies": [],
            "content": {"size": len(response), "mimeType": "application/json", "text": response},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(response),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }


def write_har(path: Path, entries: Sequence[dict[str, Any]]) -> Path:
    doc = {"log": {"version": "1.2", "creator": {"name": "tests", "version": "1"}, "entries": list(entries)}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def gets(base: str, paths: Sequence[str], **kwargs: Any) -> list[dict[str, Any]]:
    return [entry("GET", base + p, **kwargs) for p in paths]


def replay_args(capture: object, legacy: str, candidate: str, *more: str) -> list[str]:
    """The arguments of ``paritycheck replay CAPTURE --legacy L --candidate C`` followed by ``more``."""
    return ["replay", str(capture), "--legacy", legacy, "--candidate", candidate, *more]
