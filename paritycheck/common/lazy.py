"""Package attributes imported on first use (PEP 562), so that importing a package costs only what is used.

A helper process imports a package for one module of it (the store writer child needs
``paritycheck.compare.redact``, not the comparator and the configuration behind it); a package whose
``__init__`` imported every submodule made each such process pay for all of them at start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def attributes(
    package: dict[str, Any], names: Mapping[str, str], renamed: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` (its ``globals()``): ``names`` maps each lazy attribute to
    the module that defines it, ``renamed`` an attribute to its name there when it differs."""
    renamed = renamed or {}

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), renamed.get(name, name))
        package[name] = value  # later lookups find it without this function
        return value

    return __getattr__
