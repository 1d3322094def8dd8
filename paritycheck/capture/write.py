"""Write exchanges as a capture (HAR 1.2 or JSON lines) that :func:`paritycheck.capture.read` reads back.

Live modes record the legacy exchanges they see (``--record FILE.har``) so that users can replay them
later without mitmproxy. The writer streams: each exchange is appended as it arrives, and the file is a
complete, valid capture after every :meth:`CaptureWriter.flush` (and after :meth:`~CaptureWriter.close`),
so a process killed mid-run leaves a readable file holding everything flushed so far.

- **JSON lines**: one object per exchange, appended.
- **HAR**: the document's closing ``]}}`` is written after the last entry; the next flush seeks back over
  it, writes its entries and writes the closing bytes again. The file only grows, so it never holds a
  torn document between flushes.

Redaction is the caller's decision, made once, when the writer is opened: ``redact`` maps an exchange
to the exchange to store (secrets replaced), or is None to store exchanges as they are. This stage sits
below ``compare`` (where redaction lives), so :func:`paritycheck.run.open_recording` opens a writer
that redacts by default.

Round trip: reading the file gives the written exchanges again (same request, recorded response,
``started``, ``page`` and ``skip``), with ``index`` counted from 0 and ``source`` the file's name.
Bodies that are not UTF-8 are written base64-encoded. HAR cannot tell an empty request body from none,
so an empty request body reads back as None.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from paritycheck.capture.har import SKIP_WEBSOCKET
from paritycheck.errors import CaptureError
from paritycheck.models import Close, Exchange, Headers, Message, header

__all__ = ["CaptureWriter", "Redactor", "writer_format"]

#: Maps an exchange to the exchange to record (secrets replaced); None records exchanges as they are.
Redactor = Callable[[Exchange], Exchange]

_FORMATS = {".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_CREATOR = "paritycheck"
_HAR_TRAILER = b"\n]}}\n"


def writer_format(path: str | Path) -> str:
    """The capture format for ``path`` from its extension: ``"har"`` or ``"jsonl"``."""
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise CaptureError(
            "has no capture extension to record to",
            file=str(path),
            hint="name the file .har, .jsonl or .ndjson",
        )
    return fmt


class CaptureWriter:
    """Append exchanges to a new capture file; a valid capture after every flush and at close."""

    def __init__(self, path: str | Path, *, redact: Redactor | None, flush_every: int = 1) -> None:
        if flush_every < 1:
            raise ValueError(f"flush_every must be at least 1, not {flush_every}")
        self.path = Path(path)
        self.format = writer_format(path)
        self.count = 0
        self._redact = redact
        self._flush_every = flush_every
        self._pending: list[bytes] = []
        try:
            self._fh: IO[bytes] | None = self.path.open("wb")
        except OSError as exc:
            raise CaptureError(
                f"cannot be written: {exc.strerror or exc}",
                file=str(path),
                hint="check that its folder exists and is writable",
            ) from None
        self._end = 0  # where the next entries go (before the HAR trailer)
        if self.format == "har":
            head = {"log": {"version": "1.2", "creator": {"name": _CREATOR, "version": _version()}}}
            # The head is the document without its closing braces, ending with an open entries list.
            text = json.dumps(head, separators=(",", ":"))[:-2] + ',"entries":['
            self._write_at(text.encode("utf-8"))
            self._fh.flush()  # an empty capture is already a valid HAR

    def write(self, exchange: Exchange, *, comment: str | None = None) -> None:
        """Queue one exchange; it reaches the file at the next flush (every ``flush_every`` writes).

        ``comment`` is kept with it (HAR 1.2's entry ``comment``; ``comment`` in JSON lines), for a reader.
        """
        if self._fh is None:
            raise ValueError("write to a closed CaptureWriter")
        if self._redact is not None:
            exchange = self._redact(exchange)
        obj = har_entry(exchange) if self.format == "har" else jsonl_object(exchange)
        if comment is not None:
            obj["comment"] = comment
        if self.format == "har":
            entry = _dumps(obj)
            self._pending.append(entry if self.count == 0 else b",\n" + entry)
        else:
            self._pending.append(_dumps(obj) + b"\n")
        self.count += 1
        if len(self._pending) >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the queued exchanges; the file is then a complete capture."""
        if self._fh is None:
            return
        if self._pending:
            self._write_at(b"".join(self._pending))
            self._pending.clear()
        self._fh.flush()

    def close(self) -> None:
        """Flush and close; closing twice is harmless."""
        if self._fh is None:
            return
        try:
            self.flush()
        finally:
            self._fh.close()
            self._fh = None

    def _write_at(self, data: bytes) -> None:
        assert self._fh is not None
        self._fh.seek(self._end)
        self._fh.write(data)
        self._end += len(data)
        if self.format == "har":
            self._fh.write(_HAR_TRAILER)  # overwritten by the next entries, so the file only grows

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _version() -> str:
    from paritycheck import __version__

    return __version__


def _dumps(obj: Any) -> bytes:
    # The standard library, not orjson: header values may hold lone surrogates that orjson refuses.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _body_fields(body: bytes) -> tuple[str, bool]:
    """The body as text, and whether that text is base64 (bodies that are not UTF-8)."""
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _request_headers(exchange: Exchange) -> Headers:
    headers = exchange.request.headers
    if exchange.skip == SKIP_WEBSOCKET:
        # The readers drop the upgrade header but note it: keep the WebSocket skip on the way back.
        headers = (*headers, ("upgrade", "websocket"))
    return headers


def jsonl_object(exchange: Exchange) -> dict[str, Any]:
    """The JSON-lines object for one exchange (the format in :mod:`paritycheck.capture`)."""
    request = exchange.request
    obj: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "headers": [list(pair) for pair in _request_headers(exchange)],
    }
    if request.body is not None:
        text, b64 = _body_fields(request.body)
        obj["body_base64" if b64 else "body"] = text
    if exchange.started is not None:
        obj["started"] = exchange.started
    if exchange.page is not None:
        obj["page"] = exchange.page
    recorded = exchange.recorded
    if recorded is not None:
        response: dict[str, Any] = {
            "status": recorded.status,
            "headers": [list(pair) for pair in recorded.headers],
        }
        if recorded.body is not None:
            text, b64 = _body_fields(recorded.body)
            response["body_base64" if b64 else "body"] = text
        obj["response"] = response
    stream = request.stream
    if stream is not None:
        messages = [
            {"direction": m.direction, "data": m.data, "time": m.time, "opcode": m.opcode}
            | ({"event": m.event} if m.event else {})
            | ({"id": m.id} if m.id is not None else {})
            for m in stream.messages
        ]
        obj["stream"] = (
            {"kind": stream.kind, "messages": messages}
            | ({"truncated": True} if stream.truncated else {})
            | ({"close": _close(stream.close)} if stream.close is not None else {})
        )
    return obj


def _har_headers(headers: Headers) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def har_entry(exchange: Exchange) -> dict[str, Any]:
    """The HAR 1.2 entry for one exchange."""
    request = exchange.request
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": "HTTP/1.1",
        "headers": _har_headers(_request_headers(exchange)),
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(request.body) if request.body is not None else 0,
    }
    if request.body:
        text, b64 = _body_fields(request.body)
        post: dict[str, Any] = {"mimeType": header(request.headers, "content-type") or "", "text": text}
        if b64:
            post["encoding"] = "base64"
        har_request["postData"] = post
    recorded = exchange.recorded
    content: dict[str, Any] = {"size": 0, "mimeType": ""}
    har_response: dict[str, Any] = {
        "status": 0,
        "statusText": "",
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "cookies": [],
        "content": content,
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
    }
    if recorded is not None:
        har_response["status"] = recorded.status
        har_response["headers"] = _har_headers(recorded.headers)
        content["mimeType"] = header(recorded.headers, "content-type") or ""
        if recorded.body is not None:
            text, b64 = _body_fields(recorded.body)
            content["size"] = har_response["bodySize"] = len(recorded.body)
            content["text"] = text
            if b64:
                content["encoding"] = "base64"
    entry: dict[str, Any] = {}
    if exchange.page is not None:
        entry["pageref"] = exchange.page
    if exchange.started is not None:
        entry["startedDateTime"] = exchange.started
    entry.update(
        {
            "time": 0,
            "request": har_request,
            "response": har_response,
            "cache": {},
            "timings": {"send": 0, "wait": -1, "receive": 0},
        }
    )
    stream = exchange.request.stream
    if exchange.skip == SKIP_WEBSOCKET or (stream is not None and stream.kind == "websocket"):
        entry["_resourceType"] = "websocket"
    if stream is not None and stream.messages:
        field = "_webSocketMessages" if stream.kind == "websocket" else "_eventSourceMessages"
        entry[field] = [_message(m, sse=stream.kind == "sse") for m in stream.messages]
    if stream is not None and stream.close is not None:
        entry["_webSocketClose"] = _close(stream.close)
    return entry


def _close(close: Close) -> dict[str, Any]:
    return {"code": close.code, "reason": close.reason} | ({"by": close.by} if close.by else {})


def _message(m: Message, *, sse: bool) -> dict[str, Any]:
    """One stream message as Chrome writes it (``type`` is the direction, or the SSE event name)."""
    out: dict[str, Any] = {"time": m.time, "data": m.data}
    if sse:
        out["eventName"] = m.event or "message"
        if m.id is not None:
            out["eventId"] = m.id
    else:
        out["type"] = m.direction
        out["opcode"] = m.opcode
    return out
