"""JSON-lines capture reader: one request per line, for captures written by scripts and log exporters.

The format (see :mod:`paritycheck.capture` for the full description)::

    {"method": "GET", "url": "https://api.example.com/v1/users/7?full=1",
     "headers": {"accept": "application/json"}, "body": "...", "body_base64": "...",
     "started": "2024-05-01T10:00:00Z", "page": "checkout",
     "response": {"status": 200, "headers": [["content-type", "application/json"]], "body": "{...}"}}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from paritycheck.capture.har import (
    clean_headers,
    decode_base64,
    encode_text,
    method_skip,
    skip_reason,
    split_url,
    status_code,
    stream_skip,
)
from paritycheck.capture.streams import jsonl_stream
from paritycheck.common import jsonparse
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Recorded, Request

_HINT = "fix or remove this line"


def parse_line(line: bytes) -> Any:
    """Parse one line; integers beyond 64 bits stay exact (orjson alone makes them floats, silently).

    Raises ValueError for anything that is not one JSON value, nesting too deep for Python included.
    """
    try:
        return jsonparse.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _headers(raw: Any, *, file: str, entry: int, where: str) -> list[tuple[str, str]]:
    if raw is None:
        return []
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        for name, value in raw.items():
            # A list value is a repeated header: {"set-cookie": ["a=1", "b=2"]}.
            values = value if isinstance(value, list) else [value]
            pairs.extend((str(name), str(v)) for v in values)
        return pairs
    if isinstance(raw, list):
        for item in raw:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                raise CaptureError(
                    f"{where} items must be [name, value] pairs, not {item!r:.80}",
                    file=file,
                    entry=entry,
                    hint=_HINT,
                )
            pairs.append((str(item[0]), str(item[1])))
        return pairs
    raise CaptureError(
        f"{where} must be an object or a list of [name, value] pairs", file=file, entry=entry, hint=_HINT
    )


def _body(obj: dict[str, Any], *, file: str, entry: int, where: str) -> bytes | None:
    b64 = obj.get("body_base64")
    if b64 is not None:
        if not isinstance(b64, str):
            raise CaptureError(f"{where}body_base64 must be a string", file=file, entry=entry, hint=_HINT)
        return decode_base64(b64, file=file, entry=entry, where=f"{where}body_base64")
    body = obj.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise CaptureError(
            f"{where}body must be a string (use body_base64 for binary)", file=file, entry=entry, hint=_HINT
        )
    return encode_text(body)


def line_to_exchange(obj: Any, *, file: str, index: int, line: int) -> Exchange:
    """Convert one parsed line to an :class:`Exchange`."""
    if not isinstance(obj, dict):
        raise CaptureError(f"line {line} is not a JSON object", file=file, entry=index, hint=_HINT)
    method = obj.get("method")
    url = obj.get("url")
    if not isinstance(method, str) or not method:
        raise CaptureError(f"line {line} has no method", file=file, entry=index, hint=_HINT)
    if not isinstance(url, str) or not url:
        raise CaptureError(f"line {line} has no url", file=file, entry=index, hint=_HINT)
    headers, websocket = clean_headers(
        _headers(obj.get("headers"), file=file, entry=index, where="headers"), request=True
    )
    scheme, path, query = split_url(url)
    recorded = None
    response = obj.get("response")
    if isinstance(response, dict):
        status = status_code(response.get("status"), file=file, entry=index, where="response.status")
        # Same rule as HAR: status 0 means the request failed when captured, so nothing was recorded.
        if status:
            rheaders, _ = clean_headers(
                _headers(response.get("headers"), file=file, entry=index, where="response.headers"),
                request=False,
            )
            recorded = Recorded(
                status=status,
                headers=rheaders,
                body=_body(response, file=file, entry=index, where="response."),
            )
    elif response is not None:
        raise CaptureError("response must be an object", file=file, entry=index, hint=_HINT)
    stream = jsonl_stream(obj.get("stream"), websocket=websocket or scheme in ("ws", "wss"))
    if isinstance(stream, str):
        raise CaptureError(f"line {line}: {stream}", file=file, entry=index, hint=_HINT)
    started = obj.get("started")
    page = obj.get("page")
    return Exchange(
        index=index,
        source=file,
        request=Request(
            method=method.upper(),
            url=url,
            path=path,
            query=query,
            headers=headers,
            body=_body(obj, file=file, entry=index, where=""),
            stream=stream,
        ),
        recorded=recorded,
        started=started if isinstance(started, str) else None,
        page=page if isinstance(page, str) else None,
        skip=(stream_skip(scheme, stream) if stream is not None else skip_reason(scheme, websocket=websocket))
        or method_skip(method),
    )


def read_jsonl(fh: IO[bytes], *, file: str) -> Iterator[Exchange]:
    """Yield the exchanges of a JSON-lines file opened in binary mode, positioned after any BOM."""
    index = 0
    for number, raw in enumerate(fh, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            obj = parse_line(line)
        except (ValueError, UnicodeDecodeError) as exc:
            cut = "" if raw.endswith(b"\n") else " (the file may have been cut short)"
            raise CaptureError(
                f"line {number} is not valid JSON{cut}: {exc}", file=file, entry=index, hint=_HINT
            ) from None
        yield line_to_exchange(obj, file=file, index=index, line=number)
        index += 1
