"""Shared tools below every stage: JSON parsing that keeps big integers exact (``jsonparse``), the
JSONPath subset of ignore and unordered rules (``jsonpath``), endpoint names such as ``GET /users/{id}``
(``endpoints``), helper processes (``childproc``), the event-loop runner (``aio``), the server-sent
events parser (``sse``), counted nouns (``text``), fewer garbage collections during a run
(``gctune``) and secrets recognised by their look (``secrets``).
"""

from __future__ import annotations

from paritycheck.common import aio, childproc, endpoints, gctune, jsonparse, jsonpath, secrets, sse, text

__all__ = ["aio", "childproc", "endpoints", "gctune", "jsonparse", "jsonpath", "secrets", "sse", "text"]
