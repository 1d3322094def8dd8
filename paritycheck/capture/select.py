"""Which captured exchanges to replay: the hosts, ``--include``/``--exclude`` patterns and the write guard."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Sequence

from paritycheck.capture.hosts import HostChoice, host_of
from paritycheck.common.endpoints import parse_pattern
from paritycheck.models import SAFE_METHODS, Exchange

__all__ = ["NOT_INCLUDED", "Selector"]

#: Reason for an exchange that matches none of the include patterns.
NOT_INCLUDED = "not included"


class _Rule:
    __slots__ = ("method", "path", "pattern", "reason")

    def __init__(self, pattern: str, *, what: str) -> None:
        method, glob = parse_pattern(pattern, what=what)
        self.method = method
        # fnmatch semantics (``*`` also crosses ``/``), compiled once instead of per exchange.
        self.path: re.Pattern[str] = re.compile(fnmatch.translate(glob))
        self.pattern = f"{method} {glob}"
        self.reason = f"excluded by {self.pattern}"

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method == method) and self.path.match(path) is not None


class Selector:
    """Decides, per exchange, whether it is replayed; :meth:`skip_reason` says why not."""

    def __init__(
        self,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        allow_writes: bool = False,
        hosts: HostChoice | None = None,
    ) -> None:
        self._include = [_Rule(p, what="include pattern") for p in include]
        self._exclude = [_Rule(p, what="exclude pattern") for p in exclude]
        self.allow_writes = allow_writes
        self.hosts: HostChoice | None = None
        self.choose(hosts)
        #: Entries skipped because of their host, per host.
        self.other_hosts: Counter[str] = Counter()

    def choose(self, hosts: HostChoice | None) -> None:
        """Replay only the hosts ``hosts`` allows (None, or no patterns: every host)."""
        self.hosts = hosts if hosts is not None and hosts.patterns else None

    def skip_reason(self, exchange: Exchange) -> str | None:
        """None to replay the exchange, else a short stable reason (reasons are grouped and counted)."""
        if exchange.skip:
            return exchange.skip
        if self.hosts is not None:
            host = host_of(exchange)
            if not self.hosts.allows(host):
                self.other_hosts[host] += 1
                return self.hosts.reason
        request = exchange.request
        method, path = request.method, request.path
        if self._include and not any(rule.matches(method, path) for rule in self._include):
            return NOT_INCLUDED
        for rule in self._exclude:
            if rule.matches(method, path):
                return rule.reason
        if not self.allow_writes and method not in SAFE_METHODS:
            return f"unsafe method {method} (use --allow-writes)"
        return None
