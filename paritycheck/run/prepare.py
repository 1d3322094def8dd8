"""What is decided before a run sends anything: the captures described, the capture hosts to replay, the
endpoint names; and the dry run, which stops there and says what would be sent."""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paritycheck import capture
from paritycheck.capture import HostChoice, Selector, choose_hosts, read_fast
from paritycheck.capture.hosts import SAMPLE
from paritycheck.common.endpoints import EndpointMatcher
from paritycheck.config import Config
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange

if TYPE_CHECKING:
    from paritycheck.contract import Contract

__all__ = ["Planned", "describe_captures", "dry_run", "endpoint_matcher", "hosts_record", "hosts_to_replay"]


def endpoint_matcher(config: Config, contract: Contract | None = None) -> EndpointMatcher:
    """Endpoint names: ``[[endpoint]]`` patterns first, then the spec's templates, then automatic ones."""
    spec = contract.endpoint_patterns() if contract is not None else []
    return EndpointMatcher([*(rule.match for rule in config.endpoint), *spec])


@dataclass(frozen=True, slots=True)
class Planned:
    """One line of a dry run: what would be sent, or why not."""

    exchange: Exchange
    endpoint: str
    skip: str | None


def dry_run(
    config: Config, captures: Sequence[Path], *, contract: Contract | None = None
) -> Iterator[Planned]:
    """Read and filter the captures and say what would be sent, sending nothing."""
    matcher = endpoint_matcher(config, contract)
    selector = Selector(
        include=config.replay.include,
        exclude=config.replay.exclude,
        allow_writes=config.replay.allow_writes,
        hosts=hosts_to_replay(config, captures),
    )
    for path in captures:
        for exchange in read_fast(path):
            request = exchange.request
            yield Planned(
                exchange, matcher.endpoint(request.method, request.path), selector.skip_reason(exchange)
            )


def hosts_to_replay(config: Config, captures: Sequence[Path]) -> HostChoice:
    """The capture hosts to replay (capture/hosts.py), chosen from the captures' first entries."""

    def entries() -> Generator[Exchange, None, None]:
        for path in captures:
            stream = capture.read(path)
            try:
                yield from stream
            finally:
                close = getattr(stream, "close", None)  # a generator: its file is closed now
                if close is not None:
                    close()

    sample = entries()
    try:
        backends = (config.backends.legacy.url, config.backends.candidate.url)
        return choose_hosts(
            itertools.islice(sample, SAMPLE), configured=config.replay.hosts, backends=backends
        )
    except CaptureError:  # reported, with its entry, when the run reads the capture
        return HostChoice()
    finally:
        sample.close()


def hosts_record(hosts: HostChoice, *, limit: int = 20) -> dict[str, Any]:
    """``meta.hosts``: what was replayed and why, and the other hosts of the sample (busiest first)."""
    others = [(h, n, api) for h, n, api in hosts.seen if not hosts.allows(h)]
    return {
        "replayed": list(hosts.patterns) or ["*"],
        "why": hosts.why,
        "sampled": sum(n for _, n, _ in hosts.seen),
        "others": len(others),
        "other_hosts": [{"host": h, "entries": n, "api_like": api} for h, n, api in others[:limit]],
    }


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
