"""Findings: a run's differences clustered into root causes, riskiest first (issue 21).

A **finding** is the groups of differences, across exchanges and endpoints, that one change in the
candidate explains: clustered by a signature that abstracts the endpoint (signature.py), with the body
differences of a changed status folded into the status finding (cluster.py), titled in words
(words.py), stored with the run and dated by the run it was first seen in (persist.py). The gate and
every report read them; this stage reads only the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

# Exports named like their own module load at once: importing the module would set the package's
# attribute to the module and hide them.
from paritycheck.findings.cluster import assemble, cluster, folds
from paritycheck.findings.signature import ERROR_BODY, field_of, signature

if TYPE_CHECKING:
    from paritycheck.findings.model import (
        ACCEPT_DAYS,
        ACCEPT_REASON,
        Finding,
        Findings,
        Member,
        grade_label,
        rank_key,
    )
    from paritycheck.findings.persist import VERSION, of_run, signatures_of

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "ACCEPT_DAYS": "model",
        "ACCEPT_REASON": "model",
        "Finding": "model",
        "Findings": "model",
        "Member": "model",
        "grade_label": "model",
        "rank_key": "model",
        "VERSION": "persist",
        "of_run": "persist",
        "signatures_of": "persist",
    },
)

__all__ = [
    "ACCEPT_DAYS",
    "ACCEPT_REASON",
    "ERROR_BODY",
    "VERSION",
    "Finding",
    "Findings",
    "Member",
    "assemble",
    "cluster",
    "field_of",
    "folds",
    "grade_label",
    "of_run",
    "rank_key",
    "signature",
    "signatures_of",
]
