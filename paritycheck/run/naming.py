"""Endpoint names after a run or a live window: learned from its traffic, kept stable by the store.

The store remembers the templates of earlier runs and the spec's paths (store/names.py); learning
(capture/templates.py) starts from them, so a later run or window names an endpoint as the earlier ones
did, a template never stands beside its own literal instances, and one endpoint has one spelling.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from paritycheck.capture import kept_literals, learn_templates
from paritycheck.store import Store


def name_endpoints(
    store: Store,
    run_id: int,
    counts: Mapping[str, int],
    *,
    fixed: Collection[str] = (),
    spec: Collection[str] = (),
) -> dict[str, str]:
    """Rename run ``run_id``'s endpoints (``counts``: name -> requests) as learned, remember its names.

    ``fixed`` are the names given by ``[[endpoint]]`` patterns or the spec (never renamed); ``spec``
    every path of the spec the run was given, remembered for later runs. Returns the renaming.
    """
    known = store.known_endpoints()
    names = learn_templates(counts, fixed=frozenset(fixed), known=known)
    if names:
        store.rename_endpoints(run_id, names)
    final = {names.get(name, name) for name in counts}
    authoritative = {*fixed, *spec}
    literals = kept_literals(final, {*final, *known.templates, *authoritative})
    store.remember_endpoints(run_id, final, spec=authoritative, literals=literals)
    return names
