"""What is decided before a run sends anything: the captures described, the capture hosts to replay (from
its first entries), the endpoint names; and the dry run, which stops there and says what would be sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paritycheck import capture
from paritycheck.capture import HostChoice, Selector, choose_hosts, read_fast
from paritycheck.capture.hosts import deciding
from paritycheck.common.endpoints import EndpointMatcher
from paritycheck.config import Config
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange

if TYPE_CHECKING:
    from paritycheck.contract import Contract

__all__ = ["Planned", "describe_captures", "dry_run", "endpoint_matcher", "host_chooser", "hosts_record"]


def endpoint_matcher(config: Config, contract: Contract | None = None) -> EndpointMatcher:
    """Endpoint names: ``[[endpoint]]`` patterns first, then the spec's operations, then automatic ones."""
    resolve = contract.endpoint_name if contract is not None else None
    return EndpointMatcher((rule.match for rule in config.endpoint), resolve=resolve)


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
    )

    def every() -> Iterator[Exchange]:
        for path in captures:
            yield from read_fast(path)

    for exchange in deciding(every(), host_chooser(config, selector)):
        request = exchange.request
        yield Planned(
            exchange, matcher.endpoint(request.method, request.path), selector.skip_reason(exchange)
        )


def host_chooser(
    config: Config, selector: Selector, *, record: Callable[[HostChoice], None] | None = None
) -> Callable[[list[Exchange]], None]:
    """``decide(sample)`` for :func:`paritycheck.capture.hosts.deciding`: choose the hosts (capture/hosts.py)
    from the run's first entries, make ``selector`` skip the others, and ``record`` the choice where the
    capture had several hosts or hosts were configured."""
    backends = (config.backends.legacy.url, config.backends.candidate.url)

    def decide(sample: list[Exchange]) -> None:
        choice = choose_hosts(sample, configured=config.replay.hosts, backends=backends)
        selector.choose(choice)
        if record is not None and (len(choice.seen) > 1 or choice.patterns):
            record(choice)

    return decide


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
