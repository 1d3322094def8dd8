"""What a redacted value shows in its place: a keyed hash of it, so that redaction keeps comparability.

Equal secrets get equal marks and different secrets different ones, within one run: a difference
between two tokens stays visible, and two answers that echo the same token stay equal. The hash is an
HMAC under a key that lives only in this run's processes (:func:`new_key`), so a mark can be neither
looked up nor brute-forced from the stored text.

Two shapes, one digest, so the same secret can be recognised across them:

- :func:`mark` for bodies, headers and messages: ``[redacted: 269 chars, sha256 1a2b3c4d…]``;
- :func:`url_mark` inside URLs (user information, path segments, query values):
  ``redacted-1a2b3c4d``, only unreserved characters, so every later stage can still parse the URL.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REDACTED = "[redacted]"
_KEY = secrets.token_bytes(32)
_PLAIN = False
_DIGESTS: dict[str, str] = {}
#: The environment variable that hands a run's key to its helper and worker processes.
KEY_ENV = "PARITYCHECK_REDACT_KEY"
_URL_MARK = "redacted-"
#: Text that a mark (or the plain marker of older stores) consists of.
MARK = re.compile(r"\[redacted(?:: \d+ chars, sha256 [0-9a-f]{8}…)?\]|redacted-[0-9a-f]{8}")


def new_key(key: bytes | None = None) -> bytes:
    """Start a new run's redaction key (random unless given); returns it, for a helper process to share."""
    global _KEY
    _KEY = key if key is not None else secrets.token_bytes(32)
    _DIGESTS.clear()
    return _KEY


def inherited_key() -> bytes | None:
    """The key a parent process handed down in :data:`KEY_ENV` (taken out of the environment), if any."""
    value = os.environ.pop(KEY_ENV, "")
    try:
        return bytes.fromhex(value) if value else None
    except ValueError:
        return None


def current_key() -> bytes:
    """The redaction key of the current run."""
    return _KEY


@contextmanager
def unkeyed() -> Iterator[None]:
    """Within the block, marks carry no hash: ``[redacted]`` and ``redacted``.

    For what must read the same in every process and run whatever its key, such as the configuration
    stored with a run, which shards of one run compare (:func:`paritycheck.run.shards.fingerprint`).
    """
    global _PLAIN
    before, _PLAIN = _PLAIN, True
    try:
        yield
    finally:
        _PLAIN = before


def digest(text: str) -> str:
    """The first 8 hex digits of the keyed hash of ``text`` (remembered: a session's token recurs)."""
    out = _DIGESTS.get(text)
    if out is None:
        if len(_DIGESTS) >= 8192:
            _DIGESTS.clear()
        out = hmac.digest(_KEY, text.encode("utf-8", "surrogatepass"), "sha256")[:4].hex()
        _DIGESTS[text] = out
    return out


def is_mark(text: str) -> bool:
    """Whether ``text`` is exactly one mark (so redacting it again would change nothing)."""
    return text == "redacted" or MARK.fullmatch(text) is not None


def holds_mark(text: str) -> bool:
    """Whether ``text`` has a mark in it (a value redaction changed)."""
    return "redacted" in text and MARK.search(text) is not None


def mark(value: Any) -> Any:
    """What a redacted value shows: its size and a keyed hash, so different values stay distinguishable.

    ``[redacted: 269 chars, sha256 1a2b3c4d…]``. Null, booleans and the empty string hide nothing and
    are kept as they are, and so is a mark (redacting twice is redacting once).
    """
    if value is None or value == "" or type(value) is bool:
        return value
    if isinstance(value, str):
        if value.startswith(("[redacted", "redacted")) and is_mark(value):
            return value
        text = value
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    if _PLAIN:
        return REDACTED
    return f"{REDACTED[:-1]}: {len(text)} chars, sha256 {digest(text)}…]"


def url_mark(value: str) -> str:
    """A redacted value inside a URL: ``redacted-`` and the keyed hash (``""`` and marks kept)."""
    if not value or (value.startswith(("redacted", "[redacted")) and is_mark(value)):
        return value
    return "redacted" if _PLAIN else _URL_MARK + digest(value)
