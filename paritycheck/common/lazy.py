"""Package exports that load on first use (PEP 562).

A package's ``__init__`` that imported all its modules made every process that needed one of them pay
for all: a replay process loaded the HTML report's model and the rollout, a store child the gate. With
:func:`exports`, ``from paritycheck.gate import LiveSummary`` imports ``paritycheck.gate.summary`` only.
The package still names its exports under ``TYPE_CHECKING``, for the type checker and the reader.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each exported name to the module that
    defines it, relative to the package (``"summary"``), or ``"module:attribute"`` where the export is
    named otherwise. The value is kept in the package once imported."""

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
