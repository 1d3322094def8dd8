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

__all__ = ["check_backends", "config_record", "finish"]


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

    Backend and ``[auth]`` header values, the ``[auth]`` login body's secret-looking members (a password
    written in the file) and every ``[explore]`` credential.
    """
    data = dataclasses.asdict(config)
    for side in ("legacy", "candidate"):
        headers = tuple(data["backends"][side]["headers"].items())
        data["backends"][side]["headers"] = dict(redact.headers(tuple((k.lower(), v) for k, v in headers)))
    auth = data["auth"]
    auth["headers"] = dict(redact.headers(tuple((k.lower(), v) for k, v in auth["headers"].items())))
    # REDACTED rather than a keyed mark: shards of one run compare these records (run/shards.py).
    body = auth["body"]
    auth["body"] = _secret_members(body) if isinstance(body, dict) else (redact.REDACTED if body else body)
    data["explore"]["credentials"] = dict.fromkeys(data["explore"]["credentials"], redact.REDACTED)
    return data


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
