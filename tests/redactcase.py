"""Shared by the redaction tests: sample secrets and their marks under one fixed key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from paritycheck.compare import redact

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIAIOSFODNN7EXAMPLE"
RANDOM = "Zk8QpL2mXv9RtY4wBn7Jc3Hd6Fg1Ks5"
ALPHABET_URL = "abcXYZ019-._~/=+:"

#: The key of every redaction test: expected marks are computed when the tests are collected, and other
#: tests (any replay) start runs with keys of their own meanwhile.
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def fixed_key() -> Iterator[None]:
    """Redact under :data:`KEY` (import it into a test module to apply it to all of its tests)."""
    old = redact.current_key()
    redact.new_key(KEY)
    yield
    redact.new_key(old)


def _under_key(function: Callable[[Any], Any], value: Any) -> str:
    old = redact.current_key()
    redact.new_key(KEY)
    try:
        return str(function(value))
    finally:
        redact.new_key(old)


def m(value: object) -> str:
    """The mark of ``value`` in bodies and headers, under :data:`KEY`."""
    return _under_key(redact.mark, value)


def u(value: str) -> str:
    """The mark of ``value`` inside a URL, under :data:`KEY`."""
    return _under_key(redact.url_mark, value)
