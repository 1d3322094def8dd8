"""Explore: generate requests from an OpenAPI description (Schemathesis) and replay them against both
backends through the normal pipeline, to reach what a capture never exercised: validation errors,
missing credentials, malformed bodies. A generated run is an ordinary run whose capture was generated.
"""

from __future__ import annotations

from paritycheck.explore.coverage import OperationCoverage
from paritycheck.explore.generate import KINDS, Generated, Plan, generate, load_schema
from paritycheck.explore.run import (
    ExploreResult,
    Finding,
    Prepared,
    explore,
    prepare,
    write_capture,
)

__all__ = [
    "KINDS",
    "ExploreResult",
    "Finding",
    "Generated",
    "OperationCoverage",
    "Plan",
    "Prepared",
    "explore",
    "generate",
    "load_schema",
    "prepare",
    "write_capture",
]
