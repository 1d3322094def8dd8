"""Open a capture file, detect its format (HAR or JSON lines) and stream its exchanges."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import ijson

from paritycheck.capture.har import read_har
from paritycheck.capture.jsonl import read_jsonl
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange

__all__ = ["detect", "digest", "read"]

_BOM = b"\xef\xbb\xbf"
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_CHUNK = 1 << 20
_SNIFF = 1 << 16


def read(path: str | Path) -> Iterator[Exchange]:
    """Yield the exchanges in capture ``path`` as a stream; the file is checked before this returns."""
    file = str(path)
    fmt, offset = _sniff(Path(path), file)
    return _stream(Path(path), file, fmt, offset)


def detect(path: str | Path) -> str:
    """The format of capture ``path``: ``"har"`` or ``"jsonl"``."""
    return _sniff(Path(path), str(path))[0]


def digest(path: str | Path) -> str:
    """SHA-256 (hex) of the file's bytes, read in chunks: identifies the capture a run replayed."""
    sha = hashlib.sha256()
    with _open(Path(path), str(path)) as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _stream(path: Path, file: str, fmt: str, offset: int) -> Iterator[Exchange]:
    with _open(path, file) as fh:
        fh.seek(offset)
        if fmt == "jsonl":
            yield from read_jsonl(fh, file=file)
        else:
            yield from read_har(fh, file=file)


def _open(path: Path, file: str) -> IO[bytes]:
    if path.is_dir():
        raise CaptureError("is a directory, not a capture file", file=file, hint="name a .har or .jsonl file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise CaptureError("does not exist", file=file, hint="check the capture path") from None
    except OSError as exc:
        raise CaptureError(
            f"cannot be read: {exc.strerror}", file=file, hint="check its permissions"
        ) from None


def _sniff(path: Path, file: str) -> tuple[str, int]:
    """Return the format and the byte offset where the content starts (after a BOM)."""
    with _open(path, file) as fh:
        head = fh.read(len(_BOM))
        offset = len(_BOM) if head == _BOM else 0
        fh.seek(offset)
        while chunk := fh.read(_SNIFF):
            first = chunk.lstrip()[:1]
            if first:
                break
        else:
            raise CaptureError("is empty", file=file, hint="export the capture again")
        if first != b"{":
            raise CaptureError(
                "is not a HAR or JSON-lines capture (it does not start with '{')",
                file=file,
                hint="export the capture as HAR, or see the JSON-lines format in the docs",
            )
        if path.suffix.lower() in _JSONL_SUFFIXES:
            return "jsonl", offset
        fh.seek(offset)
        return _first_object_kind(fh), offset


def _first_object_kind(fh: IO[bytes]) -> str:
    """Look at the top-level keys of the first JSON object: ``log`` means HAR, ``method``/``url`` lines."""
    try:
        for prefix, event, value in ijson.parse(fh, multiple_values=True):
            if prefix == "" and event == "map_key":
                if value == "log":
                    return "har"
                if value in ("method", "url"):
                    return "jsonl"
            elif prefix == "" and event == "end_map":
                break
    except ijson.JSONError:
        pass  # the HAR reader reports where the JSON breaks
    return "har"
