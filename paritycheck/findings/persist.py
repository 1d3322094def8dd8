"""A stored run's findings: clustered from the store, kept with the run, and when each was first seen.

:func:`of_run` clusters a run (one pass over its differences), keeps the findings of a complete run in
the store (signature, grade, title, counts) and dates each by the first run of the store that had its
signature. Earlier complete runs whose findings were never kept are clustered once, on the way, so
"first seen" and history (:func:`signatures_of`) never depend on which reports were written before.
"""

from __future__ import annotations

from collections.abc import Sequence

from paritycheck.findings.cluster import Interleaved, assemble, cluster, first_ids
from paritycheck.findings.model import Findings
from paritycheck.store import RunInfo, Store, StoredFinding

__all__ = ["VERSION", "of_run", "signatures_of"]

#: The clustering's version: stored findings of another version are worked out again. Raise it
#: whenever a signature or a grade would come out differently for the same differences.
VERSION = 1


def _cluster(store: Store, run_id: int, *, examples: int, dated: bool) -> Findings:
    refused = store.refusals(run_id)
    try:
        counted = cluster(store.difference_rows(run_id), refused=refused, examples=examples)
    except Interleaved:  # not written by this store's writer: read the rows by exchange
        counted = cluster(store.difference_rows(run_id, by_exchange=True), refused=refused, examples=examples)
    values = store.difference_values(first_ids(counted))
    return assemble(
        counted, values, run_id=run_id, first_seen=(lambda s: _dates(store, run_id, s)) if dated else None
    )


def _keep(store: Store, run: RunInfo, found: Findings) -> None:
    """Store the findings of a complete run (an unfinished run may still change)."""
    if run.status == "complete":
        rows = [
            StoredFinding(run.id, f.signature, f.grade, f.title, f.exchanges, f.differences) for f in found
        ]
        store.save_findings(run.id, rows, version=VERSION)


def signatures_of(store: Store, runs: Sequence[RunInfo]) -> dict[int, list[StoredFinding]]:
    """Each run's findings as stored, clustering (and storing) those not stored yet."""
    stored = store.stored_findings([r.id for r in runs], version=VERSION)
    for run in runs:
        if run.id not in stored:
            found = _cluster(store, run.id, examples=0, dated=False)
            _keep(store, run, found)
            stored[run.id] = [
                StoredFinding(run.id, f.signature, f.grade, f.title, f.exchanges, f.differences)
                for f in found
            ]
    return stored


def _dates(store: Store, run_id: int, signatures: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """Signature -> (first run that had it, when it started); this run for a signature new here."""
    runs = store.runs()
    started = {r.id: r.started for r in runs}
    earlier = [r for r in runs if r.id < run_id and r.status == "complete"]
    signatures_of(store, earlier)  # stores what was never clustered, so first_seen can read it
    first = store.first_seen(signatures, up_to=run_id - 1)
    return {s: (first.get(s, run_id), started.get(first.get(s, run_id))) for s in signatures}


def of_run(store: Store, run_id: int, *, examples: int = 5) -> Findings:
    """The findings of stored run ``run_id``, riskiest first, each dated by the run it was first seen in.

    ``examples`` exchange ids are kept per group (for reports). A complete run's findings are stored.
    """
    run = store.run(run_id)
    found = _cluster(store, run_id, examples=examples, dated=True)
    if run_id not in store.stored_findings([run_id], version=VERSION):
        _keep(store, run, found)
    return found
