"""OpenAPI contract checking: load a description, match requests to operations, validate replies.

See docs/contract.md for what is checked, the normalised mode and the ``--json`` schema.
"""

from __future__ import annotations

from paritycheck.contract.check import Contract, Operation, Violation, load_spec
from paritycheck.contract.report import ContractReport, check_captures, to_junit
from paritycheck.contract.run import ReplayCheck, check, check_run, load_contract

__all__ = [
    "Contract",
    "ContractReport",
    "Operation",
    "ReplayCheck",
    "Violation",
    "check",
    "check_captures",
    "check_run",
    "load_contract",
    "load_spec",
    "to_junit",
]
