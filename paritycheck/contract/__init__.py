"""OpenAPI contract checking: load a description, match requests to operations, validate replies.

See docs/contract.md for what is checked and the ``--json`` schema.
"""

from __future__ import annotations

from paritycheck.contract.check import Contract, Operation, Violation, load_spec
from paritycheck.contract.report import ContractReport, check_captures, to_junit

__all__ = ["Contract", "ContractReport", "Operation", "Violation", "check_captures", "load_spec", "to_junit"]
