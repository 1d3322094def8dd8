"""What a run records about itself and checks first: the backends, its configuration with secrets out,
and its end."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from paritycheck.common.urls import backend_url_problem, shown_url
from paritycheck.compare import redact
from paritycheck.config import Config
from paritycheck.errors import ConfigError
from paritycheck.run.shards import Shard, shard_meta

if TYPE_CHECKING:
    from paritycheck.session import SessionReplay
    from paritycheck.store import Heartbeat, Store

__all__ = ["check_backends", "config_record", "finish", "redacted_backends"]


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
    """The effective configuration as stored with a run, with every secret it may hold redacted.

    Backend URLs (user information), backend and ``[auth]`` header values, backend reset commands, the
    ``[auth]`` login body's secret-looking members (a password written in the file) and every
    ``[explore]`` credential. Marks carry no hash here (``[redacted]``): shards of one run compare these
    records (run/shards.py), and each shard's process has its own redaction key.
    """
    data = dataclasses.asdict(config)
    with redact.unkeyed():
        backends = data["backends"]
        for side in ("legacy", "candidate"):
            backend = backends[side]
            backend["url"] = redact.url(backend["url"])
            backend["headers"] = _headers(backend["headers"])
            if backend.get("reset"):
                backend["reset"] = redact.text(backend["reset"])
        if backends.get("legacy_secondary"):
            backends["legacy_secondary"] = redact.url(backends["legacy_secondary"])
        auth = data["auth"]
        auth["headers"] = _headers(auth["headers"])
    body = auth["body"]
    auth["body"] = _secret_members(body) if isinstance(body, dict) else (redact.REDACTED if body else body)
    data["explore"]["credentials"] = dict.fromkeys(data["explore"]["credentials"], redact.REDACTED)
    return data


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return dict(redact.headers(tuple((k.lower(), v) for k, v in headers.items())))


def redacted_backends(config: Config) -> dict[str, str]:
    """The backends' URLs as a run stores them: redacted, with plain marks as in :func:`config_record`."""
    backends = {"legacy": config.backends.legacy.url, "candidate": config.backends.candidate.url}
    if config.backends.legacy_secondary:
        backends["legacy_secondary"] = config.backends.legacy_secondary
    with redact.unkeyed():
        return {side: redact.url(url) for side, url in backends.items()}


def _secret_members(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: redact.REDACTED if redact.is_secret_name(k) else _secret_members(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_secret_members(v) for v in value]
    return value


def finish(
    store: Store,
    run_id: int,
    *,
    status: str,
    shard: Shard | None,
    meta: SessionReplay | None,
    heartbeat: Heartbeat,
) -> None:
    """Record the run's (or its shard's) end, with the sessions' meta (a shard's own: summed when read)."""
    if meta is not None:
        store.update_meta(run_id, shard_meta(shard, "sessions", meta.meta()))
    heartbeat.stop()
    if shard is None:
        store.finish_run(run_id, status=status)
    else:
        store.finish_shard(run_id, shard=shard.index, status=status)
