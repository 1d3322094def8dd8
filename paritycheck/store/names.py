"""Endpoint names the store remembers, so that every run and live window names one endpoint alike.

After each run (and each live window), its templates are remembered, with the literal names it kept
beside one (``GET /api/articles/feed`` beside ``GET /api/articles/{param}``), and a spec's paths and
``[[endpoint]]`` patterns it named endpoints by (source ``spec``). Later runs read them back as
:class:`~paritycheck.capture.KnownNames`: the templates take in the literals they cover, and each shape
(``GET /kpis/{}``) goes by one name: a spec's first, else the most specific spelling (``{kpi_id}``,
then ``{id}``, then ``{param}``), else the earliest run's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from paritycheck.capture import KnownNames
from paritycheck.common.endpoints import endpoint_shape

SPEC = "spec"
LEARNED = "learned"
TEMPLATE = "template"
LITERAL = "literal"


class EndpointNames:
    """Endpoint-name methods of :class:`paritycheck.store.Store`."""

    _conn: sqlite3.Connection
    db: Any

    if TYPE_CHECKING:

        def flush(self) -> None: ...

    def known_endpoints(self) -> KnownNames:
        """The remembered names: one template per shape (the name it goes by) and the kept literals."""
        self.flush()
        rows = self._conn.execute("SELECT name, shape, kind, source, run_id FROM endpoint_names").fetchall()
        best: dict[str, tuple[Any, ...]] = {}
        literals = set()
        for name, shape, kind, source, run_id in rows:
            if kind == LITERAL:
                literals.add(name)
                continue
            # a spec's name first, then the most specific spelling, then the earliest run's
            rank = (source != SPEC, _generic(name), run_id, name)
            if shape not in best or rank < best[shape][0]:
                best[shape] = (rank, name)
        templates = tuple(sorted(name for _, name in best.values()))
        return KnownNames(templates, frozenset(literals))

    def remember_endpoints(
        self,
        run_id: int,
        names: Iterable[str],
        *,
        spec: Collection[str] = (),
        literals: Iterable[str] = (),
    ) -> None:
        """Remember run ``run_id``'s template ``names``, the ``spec`` names it used (a spec's paths,
        ``[[endpoint]]`` patterns) and the ``literals`` it kept beside a template."""
        rows = [
            (name, endpoint_shape(name), TEMPLATE, SPEC if name in spec else LEARNED, run_id)
            for name in {*names, *spec}
            if "{" in name
        ]
        rows += [(name, name, LITERAL, SPEC if name in spec else LEARNED, run_id) for name in set(literals)]
        rows += [(name, name, LITERAL, SPEC, run_id) for name in spec if "{" not in name]
        if not rows:
            return
        self.flush()
        with self.db.atomic():
            self._conn.executemany(
                "INSERT OR IGNORE INTO endpoint_names (name, shape, kind, source, run_id)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            # a name a run learned that a spec also has is the spec's from now on
            self._conn.executemany(
                "UPDATE endpoint_names SET source = ? WHERE name = ? AND source <> ?",
                [(SPEC, name, SPEC) for name in spec],
            )


def _generic(name: str) -> tuple[int, int]:
    return name.count("{param}"), name.count("{id}")
