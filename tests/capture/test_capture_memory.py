"""Captures are streamed: memory while reading does not grow with the file."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from paritycheck import capture


def _generate(path: Path, *, entries: int, body_size: int) -> int:
    body = json.dumps({"data": "x" * body_size})
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log": {"version": "1.2", "entries": [')
        for i in range(entries):
            entry = {
                "startedDateTime": "2024-01-01T00:00:00Z",
                "time": 1.25,
                "request": {
                    "method": "GET",
                    "url": f"https://api.example.com/api/v1/items/{i}",
                    "headers": [{"name": "accept", "value": "application/json"}],
                },
                "response": {"status": 200, "headers": [], "content": {"text": body}},
            }
            fh.write(("," if i else "") + json.dumps(entry))
        fh.write("]}}")
    return path.stat().st_size


def test_streaming_a_30_mb_har_holds_one_entry_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "big.har"
    size = _generate(path, entries=1000, body_size=30_000)
    assert size > 30_000_000
    count = 0
    tracemalloc.start()
    try:
        for exchange in capture.read(path):
            assert exchange.recorded is not None
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1000
    # A reader that loaded the file would peak above its size; one ~60 KB entry at a time stays ~0.3 MB.
    assert peak < size / 40
