"""Shared tools below every stage: JSON parsing that keeps big integers exact (``jsonparse``), the
JSONPath subset of ignore and unordered rules (``jsonpath``), endpoint names such as ``GET /users/{id}``
(``endpoints``), helper processes (``childproc``), the event-loop runner (``aio``), the server-sent
events parser (``sse``) and counted nouns (``text``).
"""

from __future__ import annotations

from paritycheck.common import aio, childproc, endpoints, jsonparse, jsonpath, sse, text

__all__ = ["aio", "childproc", "endpoints", "jsonparse", "jsonpath", "sse", "text"]
