"""Which hosts of a capture to replay: the ones the user means, not the ads and CDNs a browser also called.

A browser HAR of a web page holds requests to dozens of hosts (the page, its API, CDNs, analytics, ads),
and every entry would go to the two backends. The hosts replayed are, in order:

1. the ``--host`` patterns, else ``[replay] hosts`` (globs on ``host`` or ``host:port``; ``*`` for all);
2. with one host in the capture (or none: relative URLs), all of it;
3. the hosts of the configured backends, where the capture was recorded against one of them;
4. else the dominant API host: among the first entry's site (the page of a browser HAR: its host and the
   others of its domain, ``api.news.example`` beside ``www.news.example``), the one with the most
   API-like entries (a JSON, XML or gRPC answer or request body, a ``.json`` file, an ``/api/`` or
   ``/graphql`` path); else the host with the most API-like entries anywhere; else the busiest host.
   Third-party hosts (CDNs, analytics, ads) are another domain, so they lose to the site's own API.

The choice is made from the first :data:`SAMPLE` entries as the run reads them (:func:`deciding` holds
them back until it is made, at most :data:`SAMPLE_BYTES` of bodies), before any shard or resume filter,
so it costs no second reading of the capture and every shard makes the same one. Entries of other hosts
are skipped with one reason, and the run says which host it replayed and why (``meta.hosts``).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paritycheck.models import Exchange, header

__all__ = ["GENERATED_HOST", "SAMPLE", "HostChoice", "choose_hosts", "deciding", "host_of", "site_of"]

#: Entries the hosts are chosen from, and the most body bytes held back while choosing.
SAMPLE = 500
SAMPLE_BYTES = 32 * 1024 * 1024
#: The host of requests ``paritycheck explore`` generates: it stands for the backends themselves.
GENERATED_HOST = "generated.paritycheck.invalid"
_API_TYPES = ("json", "xml", "graphql", "grpc", "protobuf", "msgpack")
_API_PATHS = ("/api/", "/graphql", "/rest/", "/rpc/")
#: Second-level labels under which a registrable domain takes three labels (``news.co.uk``).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go"})


def host_of(exchange: Exchange) -> str:
    """``host`` or ``host:port`` of the captured URL, lower case; ``""`` for a relative URL."""
    try:
        netloc = urlsplit(exchange.request.url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[2].lower()


def _api_like(exchange: Exchange) -> bool:
    def typed(value: str | None) -> bool:
        media = (value or "").split(";", 1)[0].lower()
        return any(t in media for t in _API_TYPES) and "html" not in media

    recorded = exchange.recorded
    if recorded is not None and typed(header(recorded.headers, "content-type")):
        return True
    request = exchange.request
    if request.body and typed(header(request.headers, "content-type")):
        return True
    path = request.path.lower()
    return path.endswith(".json") or any(p in path + "/" for p in _API_PATHS)


def site_of(host: str) -> str:
    """The registrable domain of ``host`` (``news.example`` for ``api.news.example:443``), roughly."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    labels = name.split(".")
    if name.replace(".", "").isdigit() or len(labels) <= 2:
        return name
    keep = 3 if len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


@dataclass(frozen=True, slots=True)
class HostChoice:
    """The host patterns replayed (empty: every host) and why they were chosen."""

    patterns: tuple[str, ...] = ()
    why: str = "every host"
    #: Hosts of the sample: entries and API-like entries of each, for the run's record.
    seen: tuple[tuple[str, int, int], ...] = ()

    def allows(self, host: str) -> bool:
        """Whether entries of ``host`` (``host`` or ``host:port``) are replayed."""
        if not self.patterns or not host or host == GENERATED_HOST:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return any(fnmatch.fnmatchcase(host, p) or fnmatch.fnmatchcase(name, p) for p in self.patterns)

    @property
    def label(self) -> str:
        return ", ".join(self.patterns) if self.patterns else "every host"

    @property
    def reason(self) -> str:
        """The skip reason of the entries of other hosts (one reason, so they are counted together)."""
        return f"other host than {self.label} ({self.why}; --host to choose)"

    def to_json(self, skipped: Counter[str] | None = None) -> dict[str, Any]:
        return {
            "replayed": list(self.patterns) or ["*"],
            "why": self.why,
            "skipped": dict((skipped or Counter()).most_common()),
        }


def _patterns(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip().lower() for v in values if v.strip()))


def choose_hosts(
    sample: Iterable[Exchange], *, configured: Sequence[str] = (), backends: Sequence[str] = ()
) -> HostChoice:
    """The hosts to replay (module docstring), from the first entries of the captures."""
    entries: Counter[str] = Counter()
    api: Counter[str] = Counter()
    for exchange in sample:
        host = host_of(exchange)
        if host and host != GENERATED_HOST:
            entries[host] += 1
            api[host] += _api_like(exchange)
    seen = tuple((h, entries[h], api[h]) for h, _ in entries.most_common())
    wanted = _patterns(configured)
    if wanted:
        return (
            HostChoice((), "every host, as configured", seen)
            if "*" in wanted
            else HostChoice(wanted, "as configured", seen)
        )
    if len(entries) <= 1:
        return HostChoice((), "the capture's only host" if entries else "every host", seen)
    ours = {urlsplit(url).netloc.rpartition("@")[2].lower() for url in backends if url}
    names = {n.rsplit(":", 1)[0] for n in ours}
    matching = [h for h in entries if h in ours or h.rsplit(":", 1)[0] in names]
    if matching:
        return HostChoice(tuple(sorted(matching)), "the configured backends' host", seen)

    # Most API-like entries first, then most entries, then the name: the same choice every time.
    def rank(h: str) -> tuple[int, int, str]:
        return (-api[h], -entries[h], h)

    first = next(iter(entries))
    site = [h for h in entries if site_of(h) == site_of(first)]
    total = sum(entries.values())
    top = min(site, key=rank)
    if api[top]:
        why = f"the site's API host: {api[top]} of {total} sampled entries look like API calls"
    elif any(api.values()):
        top = min(entries, key=rank)
        why = f"the dominant API host: {api[top]} of {total} sampled entries look like API calls"
    else:
        top = min(entries, key=lambda h: (-entries[h], h))
        why = f"the busiest host: {entries[top]} of {total} sampled entries"
    return HostChoice((top,), why, seen)


def deciding(
    exchanges: Iterator[Exchange],
    decide: Callable[[list[Exchange]], None],
    *,
    limit: int = SAMPLE,
    max_bytes: int = SAMPLE_BYTES,
) -> Iterator[Exchange]:
    """``exchanges`` unchanged, the first ``limit`` (or ``max_bytes`` of bodies) held back until
    ``decide`` has seen them: the hosts are chosen from what the run reads anyway."""
    held: list[Exchange] = []
    size = 0
    for exchange in exchanges:
        held.append(exchange)
        recorded = exchange.recorded
        size += len(exchange.request.body or b"") + len(recorded.body or b"" if recorded is not None else b"")
        if len(held) >= limit or size >= max_bytes:
            break
    decide(held)
    yield from held
    del held
    yield from exchanges
