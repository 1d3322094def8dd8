"""Capture readers: turn a capture file into a stream of :class:`~paritycheck.models.Exchange` objects.

:func:`read` detects the format and yields one exchange per entry, in file order, without holding the
file in memory (HAR files from browsers reach hundreds of MB). Every entry is yielded, even those that
cannot be replayed: a WebSocket gets ``skip="websocket"`` and a ``data:``, ``blob:`` or other non-HTTP URL
gets ``skip="not http"``, so totals account for the whole file.

Formats
-------
**HAR 1.2** (Chrome, Firefox, Safari, Charles, Insomnia, mitmproxy, ...): a JSON document with
``log.entries``; a UTF-8 BOM is allowed.

**JSON lines** (``.jsonl``/``.ndjson``, or any file whose first object has ``method``/``url`` keys and no
``log``): one JSON object per line, blank lines ignored::

    {"method": "POST", "url": "https://api.example.com/v1/orders?dry=1",
     "headers": {"content-type": "application/json", "x-tag": ["a", "b"]},
     "body": "{\\"sku\\": 7}",
     "response": {"status": 201, "headers": [["content-type", "application/json"]], "body": "{}"}}

- ``method``, ``url``: required. ``url`` is absolute, or a path such as ``/v1/orders?dry=1``.
- ``headers``: an object (a list value repeats the header) or a list of ``[name, value]`` pairs.
- ``body``: the request body as text (UTF-8); ``body_base64``: a binary body (wins over ``body``).
- ``started``, ``page``: optional strings, like HAR's ``startedDateTime`` and ``pageref``.
- ``response``: optional recorded response with ``status`` and the same ``headers``, ``body`` and
  ``body_base64`` keys. Other keys are ignored.

Conversion rules (both formats)
-------------------------------
- Header names are lower-cased; repeated headers stay repeated. HTTP/2 pseudo-headers (``:authority``...)
  are dropped, and so are the request headers the replaying client sets itself: ``host``,
  ``content-length``, ``connection``, ``keep-alive``, ``proxy-connection``, ``transfer-encoding``, ``te``,
  ``trailer``, ``upgrade``, ``accept-encoding``. Cookies and authorization are kept (redaction happens
  when results are stored).
- ``Request.path`` and ``Request.query`` are taken from the URL with percent-encoding as captured; a HAR
  ``queryString`` is used only when the URL has no ``?``. The fragment is dropped.
- Request body: HAR ``postData.text``, else ``postData.params`` form-encoded; an empty one is ``None``.
- Recorded body: HAR ``content.text``, base64-decoded when ``content.encoding`` is ``base64``. HAR text
  is already decoded, so ``Content-Encoding: gzip`` on a recorded response is never acted on.
- A response with status 0 (browsers write it for failed, blocked or cancelled requests) or no response
  gives ``recorded=None``: nothing was recorded to compare with. The request is still replayed.
- Numbers: integers of any size stay ``int``; none becomes a float or Decimal.

Errors are :class:`~paritycheck.errors.CaptureError` naming the file and, for a broken entry, its
0-based index; the entries before it have already been yielded.
"""

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
