"""GoReplay capture reader: ``.gor`` files written by ``gor --output-file`` (gzip-compressed or not).

GoReplay is the most common production capture tool. Its file is a sequence of records, each::

    <type> <id> <timestamp ns> [<latency ns>]\\n
    <the raw HTTP message, as it crossed the wire>
    \\n🐵🙈🙉\\n

``type`` is ``1`` for a request, ``2`` for the response the original server gave (with
``--input-raw-track-response``) and ``3`` for a response GoReplay got when replaying (ignored: it is
not the original's). A request and its response share ``id``. Older versions write no latency.

Each request becomes one :class:`~paritycheck.models.Exchange` with its original response as
``recorded``, in the order the requests appear. Records are read one at a time; a request waits only
until its response arrives, and at most :data:`MAX_PENDING` requests wait at once (beyond that, the oldest
is yielded without a recorded response), so memory stays flat however long the file is.
"""

from __future__ import annotations

import contextlib
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from paritycheck.capture.har import clean_headers, skip_reason, split_url
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Recorded, Request

__all__ = ["GZIP_MAGIC", "MAX_PENDING", "SEPARATOR", "looks_like_gor", "read_gor"]

SEPARATOR = "\n🐵🙈🙉\n".encode()
GZIP_MAGIC = b"\x1f\x8b"
#: Requests held while waiting for their response (and responses waiting for their request).
MAX_PENDING = 10_000

_CHUNK = 1 << 16
_HEADER = re.compile(rb"^([123]) ([0-9A-Za-z._-]+) (\d+)(?: (-?\d+))?\r?$")
_REQUEST_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) (\S+) HTTP/\d(?:\.\d)?$")
_STATUS_LINE = re.compile(r"^HTTP/\d(?:\.\d)? (\d{3})(?: .*)?$")
_HINT = "remove this record (gor files are plain text), or capture again"


def looks_like_gor(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a decompressed file) starts like a GoReplay record."""
    return _HEADER.match(head.split(b"\n", 1)[0]) is not None


def _records(fh: IO[bytes]) -> Iterator[bytes]:
    """Split the stream on the separator, holding one record (plus one read chunk) at a time."""
    buffer = bytearray()
    scan = 0  # where to look for the next separator: bytes before it were searched already
    while chunk := fh.read(_CHUNK):
        buffer += chunk
        start = 0
        while (cut := buffer.find(SEPARATOR, max(scan, start))) >= 0:
            yield bytes(buffer[start:cut])
            start = cut + len(SEPARATOR)
        del buffer[:start]
        scan = max(0, len(buffer) - len(SEPARATOR) + 1)
    # GoReplay ends every record with the separator; what is left is a record cut short, or blank.
    if buffer.strip():
        yield bytes(buffer)


def read_gor(fh: IO[bytes], *, file: str) -> Iterator[Exchange]:
    """Yield the exchanges of a GoReplay file opened in binary mode (already decompressed)."""
    pending: OrderedDict[str, tuple[Request, str | None, str | None]] = OrderedDict()
    responses: OrderedDict[str, Recorded] = OrderedDict()  # a response seen before its request
    answered: dict[str, Recorded] = {}
    index = 0

    def ready(flush: bool) -> Iterator[Exchange]:
        nonlocal index
        while pending:
            oldest = next(iter(pending))
            if oldest not in answered and not flush and len(pending) <= MAX_PENDING:
                return
            request, started, skip = pending.pop(oldest)
            yield Exchange(index, file, request, answered.pop(oldest, None), started, None, skip)
            index += 1

    number = 0
    for number, raw in enumerate(_records(fh), start=1):
        where = f"record {number}"
        head, newline, payload = raw.lstrip(b"\n").partition(b"\n")
        match = _HEADER.match(head)
        if match is None or not newline:
            raise CaptureError(
                f"{where} does not start with a GoReplay header line 'type id timestamp latency' "
                f"(found {head[:60]!r})",
                file=file,
                hint=_HINT,
            )
        kind, rid, timestamp = match.group(1), match.group(2).decode(), int(match.group(3))
        where = f"{where} (id {rid})"
        if kind == b"1":
            request, scheme = _request(payload, file=file, where=where)
            if rid in pending:
                raise CaptureError(f"{where} repeats a request id", file=file, hint=_HINT)
            pending[rid] = (request, _iso(timestamp), skip_reason(scheme, websocket=_upgrade(payload)))
            if rid in responses:
                answered[rid] = responses.pop(rid)
        elif kind == b"2":
            recorded = _response(payload, file=file, where=where)
            if rid in pending:
                answered.setdefault(rid, recorded)
            else:
                responses[rid] = recorded
                while len(responses) > MAX_PENDING:
                    responses.popitem(last=False)
        # kind 3: a response GoReplay got when it replayed; not the original's, so not a recording.
        yield from ready(flush=False)
    yield from ready(flush=True)


def _iso(nanoseconds: int) -> str | None:
    try:
        moment = datetime.fromtimestamp(nanoseconds / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _upgrade(payload: bytes) -> bool:
    head = payload.split(b"\r\n\r\n", 1)[0].lower()
    return b"\nupgrade: websocket" in head or b"\nupgrade:websocket" in head


def _split_message(payload: bytes, *, file: str, where: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The start line, the headers and the raw body of an HTTP/1.x message."""
    cut = payload.find(b"\r\n\r\n")
    sep = 4
    if cut < 0:
        cut, sep = payload.find(b"\n\n"), 2
    if cut < 0:
        raise CaptureError(
            f"{where} has no end of HTTP headers (the record may be cut short)", file=file, hint=_HINT
        )
    lines = payload[:cut].decode("latin-1").replace("\r\n", "\n").split("\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise CaptureError(f"{where} has a malformed header line {line[:60]!r}", file=file, hint=_HINT)
        headers.append((name.strip(), value.strip()))
    return lines[0].strip(), headers, payload[cut + sep :]


def _body(
    raw: bytes, headers: list[tuple[str, str]], *, file: str, where: str, response: bool
) -> bytes | None:
    names = {name.lower(): value for name, value in headers}
    if "chunked" in names.get("transfer-encoding", "").lower():
        raw = _dechunk(raw, file=file, where=where)
    elif "content-length" in names:
        try:
            length = int(names["content-length"])
        except ValueError:
            raise CaptureError(
                f"{where} has Content-Length {names['content-length']!r}", file=file, hint=_HINT
            ) from None
        # A response to HEAD has a Content-Length and no body.
        if len(raw) < length and not (response and not raw):
            raise CaptureError(
                f"{where} has a body of {len(raw)} bytes where Content-Length says {length}: the record"
                " is cut short",
                file=file,
                hint="raise gor's --copy-buffer-size (or --input-raw-buffer-size), or remove this record",
            )
        raw = raw[:length]
    if response:
        # HAR and the JSON lines hold decoded bodies; so does a replayed reply (the client decodes).
        encoding = names.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate") and raw:
            # Not compressed after all: keep the bytes as recorded.
            with contextlib.suppress(zlib.error):
                raw = zlib.decompress(raw, 47 if "gzip" in encoding else zlib.MAX_WBITS)
    return raw if raw or response else None


def _dechunk(raw: bytes, *, file: str, where: str) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            raise CaptureError(f"{where} has a chunked body cut short", file=file, hint=_HINT)
        try:
            size = int(raw[pos:end].split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise CaptureError(f"{where} has a malformed chunked body", file=file, hint=_HINT) from None
        if size == 0:
            return bytes(out)
        out += raw[end + 2 : end + 2 + size]
        if end + 2 + size > len(raw):
            raise CaptureError(f"{where} has a chunked body cut short", file=file, hint=_HINT)
        pos = end + 2 + size + 2


def _request(payload: bytes, *, file: str, where: str) -> tuple[Request, str]:
    line, raw_headers, raw_body = _split_message(payload, file=file, where=where)
    match = _REQUEST_LINE.match(line)
    if match is None:
        raise CaptureError(f"{where} has no HTTP request line (found {line[:60]!r})", file=file, hint=_HINT)
    method, target = match.group(1).upper(), match.group(2)
    body = _body(raw_body, raw_headers, file=file, where=where, response=False)
    headers, _ = clean_headers(raw_headers, request=True)
    host = next((value for name, value in raw_headers if name.lower() == "host"), None)
    url = f"http://{host}{target}" if host and target.startswith("/") else target
    scheme, path, query = split_url(url)
    return Request(method, url, path, query, headers, body), scheme


def _response(payload: bytes, *, file: str, where: str) -> Recorded:
    line, raw_headers, raw_body = _split_message(payload, file=file, where=where)
    match = _STATUS_LINE.match(line)
    if match is None:
        raise CaptureError(f"{where} has no HTTP status line (found {line[:60]!r})", file=file, hint=_HINT)
    headers, _ = clean_headers(raw_headers, request=False)
    status = int(match.group(1))
    body = _body(raw_body, raw_headers, file=file, where=where, response=True)
    if status in (204, 304) or 100 <= status < 200:
        body = b""
    return Recorded(status, headers, body)
