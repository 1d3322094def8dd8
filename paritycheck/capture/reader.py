"""Open a capture file, detect its format (HAR or JSON lines) and stream its exchanges."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import ijson

from paritycheck.capture.goreplay import GZIP_MAGIC, looks_like_gor, read_gor
from paritycheck.capture.har import read_har
from paritycheck.capture.jsonl import read_jsonl
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange

__all__ = ["detect", "digest", "read"]

_BOM = b"\xef\xbb\xbf"
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_GOR_SUFFIXES = (".gor", ".gor.gz")
_CHUNK = 1 << 20
_SNIFF = 1 << 16


def read(path: str | Path) -> Iterator[Exchange]:
    """Yield the exchanges in capture ``path`` as a stream; the file is checked before this returns."""
    file = str(path)
    fmt, offset = _sniff(Path(path), file)
    return _stream(Path(path), file, fmt, offset)


def detect(path: str | Path) -> str:
    """The format of capture ``path``: ``"har"``, ``"jsonl"`` or ``"gor"`` (GoReplay)."""
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
        elif fmt == "gor":
            yield from _read_gor(fh, file=file)
        else:
            yield from read_har(fh, file=file)


def _read_gor(fh: IO[bytes], *, file: str) -> Iterator[Exchange]:
    if fh.read(2) != GZIP_MAGIC:
        fh.seek(0)
        yield from read_gor(fh, file=file)
        return
    fh.seek(0)
    with gzip.GzipFile(fileobj=fh, mode="rb") as unzipped:
        try:
            yield from read_gor(cast(IO[bytes], unzipped), file=file)
        except (OSError, EOFError, zlib.error) as exc:
            raise CaptureError(
                f"is not a valid gzip file ({exc}); the records before the damage were read",
                file=file,
                hint="copy the capture again (gzip -t checks it)",
            ) from None


def _gor_head(path: Path, file: str) -> bytes | None:
    """The first bytes of a GoReplay file (decompressed), or None when the file is not one."""
    named = path.name.lower().endswith(_GOR_SUFFIXES)
    with _open(path, file) as fh:
        head = fh.read(_SNIFF)
        if head[:2] == GZIP_MAGIC:
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(head)) as unzipped:
                    head = unzipped.read(256)
            except (OSError, EOFError, zlib.error):
                return head if named else None  # damaged gzip: reading it says so, after what it could
    return head if named or looks_like_gor(head) else None


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
        if first != b"{" and (gor := _gor_head(path, file)) is not None:
            if not gor.strip():
                raise CaptureError("is empty", file=file, hint="capture again")
            return "gor", 0
        if first != b"{":
            raise CaptureError(
                "is not a HAR, JSON-lines or GoReplay capture (it does not start with '{' or a gor header)",
                file=file,
                hint="export the capture as HAR, or see the formats in docs/captures.md",
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
