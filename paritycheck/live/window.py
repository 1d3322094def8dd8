"""Windows: live outcomes stored as a sequence of ordinary runs, one per window.

A window closes after ``seconds`` or ``exchanges`` (whichever comes first), as a ``complete`` run that
report, gate and history read like any replay; the HTML report (if asked for) is rewritten at each close.
An open window keeps a heartbeat as a replay does (store/liveness.py), so that a command reading the
store meanwhile sees it ``running``, not ``crashed``. At its close, as after a replay, its endpoints
are named as learned from its own traffic and as the store remembers earlier runs' and windows' names
(run/naming.py), before its noise is classed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paritycheck.gate import LiveSummary
from paritycheck.models import Outcome
from paritycheck.noise import NoiseLearner
from paritycheck.run import name_endpoints
from paritycheck.store import HEARTBEAT_SECONDS, Heartbeat, Store

log = logging.getLogger(__name__)


class Windows:
    """The open window (a running run) and its live summary; closes and opens runs as windows turn."""

    def __init__(
        self,
        db: Path,
        *,
        source: str,
        config: dict[str, Any],
        backends: dict[str, str],
        exchanges: int = 0,
        seconds: float = 0.0,
        html: Path | None = None,
        on_close: Callable[[int, LiveSummary], None] | None = None,
        noise: Callable[[], NoiseLearner] | None = None,
        store_in_child: bool = False,
        heartbeat: float = HEARTBEAT_SECONDS,
        fixed: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        from paritycheck import __version__

        self.db = db
        self.source = source
        self.exchanges = exchanges
        self.seconds = seconds
        self.html = html
        self.on_close = on_close
        # Noise is learned per window (A/A re-asks of the legacy), and classified when the window closes.
        self._new_noise = noise
        self.noise = noise() if noise is not None else None
        self._run_args: dict[str, Any] = {
            "tool_version": __version__,
            "config": config,
            "backends": backends,
        }
        self.store = Store.open(db)
        if store_in_child:  # frees the event loop (and the client path) of storing, as on long replays
            self.store.write_in_child()
        self.closed: list[int] = []
        # A window's run is opened by its first outcome, so that idle periods leave no empty runs.
        self.run_id: int | None = None
        self.summary = LiveSummary()
        self.opened = 0.0
        self._heartbeat_seconds = heartbeat
        #: Endpoint names templates must not change ([[endpoint]] patterns, the spec's paths).
        self._fixed = fixed or frozenset
        self._heartbeat: Heartbeat | None = None

    def _open(self) -> int:
        started = dt.datetime.now(dt.UTC)
        self.run_id = self.store.start_run(
            captures=[
                {
                    "name": f"{self.source} window from {started.isoformat(timespec='seconds')}",
                    "live": self.source,
                }
            ],
            started=started.isoformat(timespec="milliseconds"),
            **self._run_args,
        )
        self.summary = LiveSummary()
        self.opened = started.timestamp()
        self._heartbeat = Heartbeat(self.db, self.run_id, interval=self._heartbeat_seconds).start()
        return self.run_id

    def add(self, outcome: Outcome) -> None:
        """Store one outcome in the open window; close it when it holds ``exchanges`` outcomes."""
        run_id = self.run_id if self.run_id is not None else self._open()
        self.store.add(run_id, outcome)
        self.summary.add(outcome)
        if self.exchanges and self.summary.total >= self.exchanges:
            self.turn()

    def due(self, now: float) -> bool:
        """Whether the open window's time is up."""
        return self.run_id is not None and bool(self.seconds) and now - self.opened >= self.seconds

    def turn(self, *, status: str = "complete") -> int | None:
        """Close the open window as a run with ``status``; return its id (None if no window was open)."""
        run_id, summary = self.run_id, self.summary
        if run_id is None:
            return None
        self.run_id = None
        self.summary = LiveSummary()
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        names = name_endpoints(self.store, run_id, summary.endpoint_counts(), fixed=self._fixed())
        if names and self.noise is not None:
            self.noise.rename(names)
        if self.noise is not None:
            self.store.flush()
            paths = self.noise.classify()
            if paths:
                self.store.apply_noise(run_id, paths)
            self.noise = self._new_noise() if self._new_noise is not None else None
        self.store.finish_run(run_id, status=status)
        self.closed.append(run_id)
        if self.html is not None:
            from paritycheck.report import write_html  # only with --html: ~60 ms at each start

            try:
                write_html(self.store, run_id, self.html)
            except OSError as exc:  # a report that cannot be written must not stop the listener
                log.warning("cannot write %s: %s", self.html, exc)
        if self.on_close is not None:
            self.on_close(run_id, summary)
        return run_id

    def close(self, *, status: str = "complete") -> int | None:
        """Close the open window (if any) and the store; return the closed run's id."""
        try:
            return self.turn(status=status)
        finally:
            self.store.close()
