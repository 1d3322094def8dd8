"""HAR 1.2 reader: streams ``log.entries`` with ijson, one :class:`~paritycheck.models.Exchange` each.

Also holds the helpers every capture format shares (header filtering, URL splitting, skip rules), so that
a JSON-lines capture and a HAR capture of the same traffic give the same exchanges.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import ijson

from paritycheck.capture.streams import har_stream
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Headers, Recorded, Request, Stream, is_method

ENTRIES = "log.entries.item"

#: Request headers never re-sent: hop-by-hop and transport ones, which the replaying client sets itself.
DROPPED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "accept-encoding",
    }
)

SKIP_WEBSOCKET = "websocket"
SKIP_NOT_HTTP = "not http"
SKIP_NO_METHOD = "no request method"
SKIP_BAD_METHOD = "request method is not an HTTP token"

_HTTP_SCHEMES = frozenset({"http", "https"})
_WS_SCHEMES = frozenset({"ws", "wss"})


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of a captured string; lone surrogates (from JSON escapes) survive instead of failing."""
    return text.encode("utf-8", "surrogatepass")


def clean_headers(pairs: Iterable[tuple[str, str]], *, request: bool) -> tuple[Headers, bool]:
    """Lower-case names, drop pseudo-headers (and, for a request, transport headers).

    Returns the headers and whether the request asked for a WebSocket upgrade (checked here because the
    ``upgrade`` header itself is dropped).
    """
    out: list[tuple[str, str]] = []
    websocket = False
    for name, value in pairs:
        key = name.lower()
        if key.startswith(":"):
            continue
        if request and key in DROPPED_REQUEST_HEADERS:
            if key == "upgrade" and value.strip().lower() == "websocket":
                websocket = True
            continue
        out.append((key, value))
    return tuple(out), websocket


def split_url(url: str) -> tuple[str, str, str]:
    """Return ``(scheme, path, query)``; percent-encoding is kept exactly as captured."""
    # The common case without urlsplit's general machinery (a quarter of converting an entry): an
    # absolute http(s) URL in ASCII without the characters urlsplit strips or checks (tab, CR, LF, "[").
    if (
        url.startswith(("http://", "https://"))
        and url.isascii()
        and "\t" not in url
        and "\r" not in url
        and "\n" not in url
        and "[" not in url
    ):
        start = 7 if url[4] == ":" else 8
        end = len(url)
        for delimiter in "/?#":
            at = url.find(delimiter, start)
            if 0 <= at < end:
                end = at
        path, _, query = url[end:].partition("#")[0].partition("?")
        return url[: start - 3], path if path.startswith("/") else "/" + path, query
    return split_url_slowly(url)


def split_url_slowly(url: str) -> tuple[str, str, str]:
    """:func:`split_url` for any URL, by :func:`urllib.parse.urlsplit`."""
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = "/" + path
    return parts.scheme.lower(), path, parts.query


def skip_reason(scheme: str, *, websocket: bool) -> str | None:
    """Why an entry cannot be replayed over HTTP, or None. A relative URL (no scheme) is replayable."""
    if websocket or scheme in _WS_SCHEMES:
        return SKIP_WEBSOCKET
    if scheme and scheme not in _HTTP_SCHEMES:
        return SKIP_NOT_HTTP
    return None


def status_code(value: Any, *, file: str, entry: int, where: str) -> int:
    """An HTTP status as an int (HAR writers sometimes use 200.0); anything else is a capture error."""
    if (isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()) or (
        isinstance(value, float) and value.is_integer()
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 999:
        raise CaptureError(
            f"{where} is {value!r}, not an HTTP status code",
            file=file,
            entry=entry,
            hint="fix or remove this entry's response",
        )
    return int(value)


def _text(value: Any, *, file: str, entry: int, where: str) -> str:
    if not isinstance(value, str):
        raise CaptureError(
            f"{where} must be a string, not {type(value).__name__}",
            file=file,
            entry=entry,
            hint="fix or remove this entry",
        )
    return value


def decode_base64(text: str, *, file: str, entry: int, where: str) -> bytes:
    try:
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            # Some writers wrap base64 at 76 columns; anything else outside the alphabet is damage.
            return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CaptureError(
            f"{where} is marked base64 but is not valid base64",
            file=file,
            entry=entry,
            hint="re-export the capture, or remove this entry",
        ) from None


def _har_headers(raw: Any, *, file: str, entry: int, where: str) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CaptureError(f"{where} is not a list", file=file, entry=entry, hint="fix or remove this entry")
    pairs = []
    for item in raw:
        try:
            pairs.append((str(item["name"]), str(item["value"])))
        except (TypeError, KeyError):
            raise CaptureError(
                f"{where} has an item without name and value: {item!r:.80}",
                file=file,
                entry=entry,
                hint="fix or remove this entry",
            ) from None
    return pairs


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _decoded(text: str) -> str:
    """A form ``params`` name or value as text: some writers record them still percent-encoded
    (``field%5B1%5D``), and encoding those again would send ``field%255B1%255D``."""
    return unquote(text) if _PERCENT_ESCAPE.search(text) else text


def _request_body(request: dict[str, Any], *, file: str, entry: int) -> bytes | None:
    post = request.get("postData")
    if not isinstance(post, dict):
        return None
    text = post.get("text")
    if text:
        text = _text(text, file=file, entry=entry, where="request.postData.text")
        # Not in HAR 1.2, but some writers mark a binary request body the way responses are marked.
        if post.get("encoding") == "base64":
            return decode_base64(text, file=file, entry=entry, where="request.postData.text")
        return encode_text(text)
    params = post.get("params")
    if params and isinstance(params, list):
        pairs = [
            (_decoded(str(p.get("name", ""))), _decoded(str(p.get("value", ""))))
            for p in params
            if isinstance(p, dict)
        ]
        return encode_text(urlencode(pairs))
    # An empty text and no params: no body, so a GET exported by Insomnia does not gain one.
    return None


def _recorded(entry_obj: dict[str, Any], *, file: str, entry: int) -> Recorded | None:
    response = entry_obj.get("response")
    if not isinstance(response, dict):
        return None
    status = status_code(response.get("status", 0), file=file, entry=entry, where="response.status")
    if status == 0:
        # Browsers write status 0 for a request that failed, was blocked or cancelled: nothing recorded.
        return None
    headers, _ = clean_headers(
        _har_headers(response.get("headers"), file=file, entry=entry, where="response.headers"),
        request=False,
    )
    body: bytes | None = None
    content = response.get("content")
    if isinstance(content, dict) and content.get("text") is not None:
        text = _text(content["text"], file=file, entry=entry, where="response.content.text")
        # HAR text is already decoded even when Content-Encoding says gzip: never gunzip it.
        if content.get("encoding") == "base64":
            body = decode_base64(text, file=file, entry=entry, where="response.content.text")
        else:
            body = encode_text(text)
    return Recorded(status=status, headers=headers, body=body)


def entry_to_exchange(obj: Any, *, file: str, index: int) -> Exchange:
    """Convert one parsed HAR entry to an :class:`Exchange`; a malformed entry is a CaptureError."""
    if not isinstance(obj, dict):
        raise CaptureError("is not a JSON object", file=file, entry=index, hint="fix or remove this entry")
    request = obj.get("request")
    if not isinstance(request, dict):
        raise CaptureError("has no request", file=file, entry=index, hint="fix or remove this entry")
    method = request.get("method")
    url = request.get("url")
    if not isinstance(method, str):
        raise CaptureError("has no request.method", file=file, entry=index, hint="fix or remove this entry")
    if not isinstance(url, str) or not url:
        raise CaptureError("has no request.url", file=file, entry=index, hint="fix or remove this entry")
    method = method.strip()
    headers, websocket = clean_headers(
        _har_headers(request.get("headers"), file=file, entry=index, where="request.headers"), request=True
    )
    if not websocket:
        websocket = obj.get("_resourceType") == "websocket" or "_webSocketMessages" in obj
    scheme, path, query = split_url(url)
    if not query and "?" not in url:
        query = _query_from_list(request.get("queryString"))
    if not any(k == "cookie" for k, _ in headers):
        # Some writers list cookies only in request.cookies; the backend still needs them.
        cookie = _cookie_header(request.get("cookies"))
        if cookie:
            headers = (*headers, ("cookie", cookie))
    recorded = _recorded(obj, file=file, entry=index)
    stream = har_stream(
        obj,
        websocket=websocket or scheme in _WS_SCHEMES,
        response_headers=recorded.headers if recorded is not None else _response_headers(obj),
        text=_response_text(obj),
    )
    started = obj.get("startedDateTime")
    page = obj.get("pageref")
    return Exchange(
        index=index,
        source=file,
        request=Request(
            method=method.upper(),
            url=url,
            path=path,
            query=query,
            headers=headers,
            body=_request_body(request, file=file, entry=index),
            stream=stream,
        ),
        recorded=recorded,
        started=started if isinstance(started, str) else None,
        page=page if isinstance(page, str) else None,
        # Browsers record data:, blob: and extension URLs with an empty method (Safari): such an entry
        # is skipped with its reason; only a broken file is refused.
        skip=(stream_skip(scheme, stream) if stream is not None else skip_reason(scheme, websocket=websocket))
        or method_skip(method),
    )


def method_skip(method: str) -> str | None:
    """Why an entry with this method is not replayed: none, or not a token (``GET /admin?x=`` would
    rewrite the request line, and no client sends it)."""
    if not method:
        return SKIP_NO_METHOD
    return None if is_method(method) else SKIP_BAD_METHOD


def stream_skip(scheme: str, stream: Stream) -> str | None:
    """A WebSocket is replayed as a stream now; only a scheme that is neither HTTP nor WS is skipped."""
    if stream.kind == "websocket" and scheme in _WS_SCHEMES:
        return None
    return skip_reason(scheme, websocket=False)


def _response_headers(obj: dict[str, Any]) -> Headers:
    response = obj.get("response")
    raw = response.get("headers") if isinstance(response, dict) else None
    if not isinstance(raw, list):
        return ()
    return tuple(
        (str(h.get("name", "")).lower(), str(h.get("value", ""))) for h in raw if isinstance(h, dict)
    )


def _response_text(obj: dict[str, Any]) -> str | None:
    response = obj.get("response")
    content = response.get("content") if isinstance(response, dict) else None
    if (
        isinstance(content, dict)
        and isinstance(content.get("text"), str)
        and content.get("encoding") != "base64"
    ):
        return str(content["text"])
    return None


def _query_from_list(raw: Any) -> str:
    if not raw or not isinstance(raw, list):
        return ""
    pairs = [(str(p.get("name", "")), str(p.get("value", ""))) for p in raw if isinstance(p, dict)]
    return urlencode(pairs, quote_via=quote)


def _cookie_header(raw: Any) -> str:
    if not raw or not isinstance(raw, list):
        return ""
    return "; ".join(f"{c['name']}={c.get('value', '')}" for c in raw if isinstance(c, dict) and "name" in c)


def read_har(fh: IO[bytes], *, file: str) -> Iterator[Exchange]:
    """Yield the exchanges of a HAR file opened in binary mode, positioned after any BOM."""
    start = fh.tell()
    index = 0
    try:
        # Not use_float: yajl then overflows on integers beyond 64 bits. Integers stay ints of any size,
        # other numbers become Decimal (exact, and nothing here does arithmetic on them).
        for obj in ijson.items(fh, ENTRIES):
            yield entry_to_exchange(obj, file=file, index=index)
            index += 1
    except ijson.JSONError as exc:
        reason = _reason(exc)
        fix = "export the capture again"
        if "UTF8" in reason:
            fix = "the file is not UTF-8: re-export it, or convert it (iconv -f latin1 -t utf-8)"
        if index == 0 and not _has_entries(fh, start):
            raise CaptureError(
                f"not valid JSON ({reason})", file=file, hint=f"not a HAR file; {fix}"
            ) from None
        raise CaptureError(
            f"invalid JSON, or the file is cut short, here ({reason})",
            file=file,
            entry=index,
            hint=f"{fix}; the entries before this one were read",
        ) from None
    if index == 0:
        fh.seek(start)
        kind = _entries_kind(fh)
        if kind != "start_array":
            what = "has no log.entries" if kind is None else "has a log.entries that is not a list"
            raise CaptureError(
                f"is JSON but {what}, so it is not a HAR capture",
                file=file,
                hint="export a HAR file (or use the JSON-lines format described in the docs)",
            )


def _reason(exc: Exception) -> str:
    # yajl passes its message as bytes, with a multi-line excerpt of the input after the first line.
    arg = exc.args[0] if exc.args else ""
    message = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    text = message.strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _has_entries(fh: IO[bytes], start: int) -> bool:
    """Whether the document reaches ``log.entries`` before it breaks (only run on the error path)."""
    fh.seek(start)
    try:
        return _entries_kind(fh) == "start_array"
    except ijson.JSONError:
        return False


def _entries_kind(fh: IO[bytes]) -> str | None:
    """The ijson event that opens ``log.entries`` (``start_array`` for a HAR), or None if absent."""
    for prefix, event, _ in ijson.parse(fh):
        if prefix == "log.entries" and event != "map_key":
            return str(event)
    return None
