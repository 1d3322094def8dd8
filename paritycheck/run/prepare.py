"""What a run checks and records before it starts: the backends, the configuration as it is stored
(secrets redacted), and the captures' names and digests. Each raises before any run row is written."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paritycheck import capture
from paritycheck.common.urls import backend_url_problem, shown_url
from paritycheck.compare import redact
from paritycheck.config import Config
from paritycheck.errors import CaptureError, ConfigError


def check_backends(config: Config) -> None:
    """Both backends (and a secondary legacy) must be configured with a usable http(s) base URL."""
    urls = {"legacy": config.backends.legacy.url, "candidate": config.backends.candidate.url}
    for side, url in {**urls, "legacy_secondary": config.backends.legacy_secondary or ""}.items():
        if not url and side in urls:
            raise ConfigError(
                f"no {side} backend configured",
                hint=f'pass --{side} URL or set [backends] {side} = "http://..." in paritycheck.toml',
            )
        problem = backend_url_problem(url)
        if problem:
            raise ConfigError(
                f"{side} backend {shown_url(url)!r} {problem}",
                hint="use a base URL such as http://127.0.0.1:8000",
            )


def config_record(config: Config) -> dict[str, Any]:
    """The effective configuration as stored with a run, with backend header values redacted."""
    data = dataclasses.asdict(config)
    for side in ("legacy", "candidate"):
        headers = tuple(data["backends"][side]["headers"].items())
        data["backends"][side]["headers"] = dict(redact.headers(tuple((k.lower(), v) for k, v in headers)))
    return data


def describe_captures(captures: Sequence[Path]) -> list[dict[str, str]]:
    """Name and SHA-256 of each capture, as recorded with a run; a missing file is a capture error."""
    for path in captures:
        if Path(path).is_dir():
            raise CaptureError(
                "is a directory, not a capture file", file=str(path), hint="name a .har or .jsonl file"
            )
        if not Path(path).is_file():
            raise CaptureError("no such file", file=str(path), hint="check the capture path")
    return [{"name": str(p), "digest": capture.digest(p)} for p in captures]
