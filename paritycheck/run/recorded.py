"""The configuration and the backends as a run stores them: with their secrets redacted.

Marks carry no hash here (``[redacted]``, ``redacted``): every shard of a run must record the same
configuration (:func:`paritycheck.run.shards.fingerprint` compares a digest of it), whatever the
redaction key of its process.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from paritycheck.compare import redact
from paritycheck.config import Config


def config_record(config: Config) -> dict[str, Any]:
    """The effective configuration as stored with a run, with its secrets redacted: backend URLs,
    header values and reset commands, and the ``[auth]`` login's headers and body."""
    data = dataclasses.asdict(config)
    with redact.unkeyed():
        backends = data["backends"]
        for side in ("legacy", "candidate"):
            backend = backends[side]
            backend["url"] = redact.url(backend["url"])
            backend["headers"] = _headers_record(backend["headers"])
            if backend.get("reset"):
                backend["reset"] = redact.text(backend["reset"])
        if backends.get("legacy_secondary"):
            backends["legacy_secondary"] = redact.url(backends["legacy_secondary"])
        auth = data["auth"]
        auth["headers"] = _headers_record(auth["headers"])
        if isinstance(auth["body"], dict):
            auth["body"] = redact.json_value(auth["body"])
        elif auth["body"]:
            raw = auth["body"].encode()
            shown = redact.body(raw, "application/json")
            auth["body"] = (shown if shown != raw else redact.query(auth["body"]).encode()).decode()
    return data


def _headers_record(headers: dict[str, str]) -> dict[str, str]:
    return dict(redact.headers(tuple((k.lower(), v) for k, v in headers.items())))


def redacted_backends(config: Config) -> dict[str, str]:
    """The backends' URLs as a run stores them (redacted, with plain marks as in :func:`config_record`)."""
    backends = {"legacy": config.backends.legacy.url, "candidate": config.backends.candidate.url}
    if config.backends.legacy_secondary:
        backends["legacy_secondary"] = config.backends.legacy_secondary
    with redact.unkeyed():
        return {side: redact.url(url) for side, url in backends.items()}
