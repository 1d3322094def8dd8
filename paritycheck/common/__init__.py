"""Shared tools below every stage: JSON parsing that keeps big integers exact (``jsonparse``), the
JSONPath subset of ignore and unordered rules (``jsonpath``), endpoint names such as ``GET /users/{id}``
(``endpoints``), helper processes (``childproc``), the event-loop runner (``aio``), the server-sent
events parser (``sse``), counted nouns (``text``), fewer garbage collections during a run
(``gctune``), secrets recognised by their look (``secrets``), reading a TOML file (``tomlfile``),
backend base URLs (``urls``), dataclasses built strictly from TOML tables (``tables``) and package
exports that load on first use (``lazy``).
"""

from __future__ import annotations

# The submodules are imported where they are used (``from paritycheck.common import aio``): importing
# them all here made every command pay for asyncio and the rest, ~75 ms at each start.

__all__ = [
    "aio",
    "childproc",
    "endpoints",
    "gctune",
    "jsonparse",
    "jsonpath",
    "lazy",
    "secrets",
    "sse",
    "tables",
    "text",
    "tomlfile",
    "urls",
]
