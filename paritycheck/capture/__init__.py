"""Capture readers: turn a capture file into a stream of :class:`~paritycheck.models.Exchange` objects.

:func:`read` detects the format and yields one exchange per entry, in file order, without holding the
file in memory (HAR files from browsers reach hundreds of MB). Every entry is yielded, even those that
cannot be replayed: a ``data:``, ``blob:`` or other non-HTTP URL gets ``skip="not http"`` (an entry with
an empty method ``skip="no request method"``, one whose method is not an HTTP token, such as
``GET /admin?x=``, ``skip="request method is not an HTTP token"``), so totals account for the whole
file; only a broken file is refused. A WebSocket entry or an SSE response carries its recorded messages in
``Request.stream`` (see :mod:`paritycheck.capture.streams` and docs/streams.md) and is replayed as a stream.

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

**GoReplay** (``.gor``, ``.gor.gz``, or any file whose first line is a gor header; gzip is detected by
its magic bytes): records of ``type id timestamp latency`` + a raw HTTP/1.x message + the ``🐵🙈🙉``
separator. Requests (``1``) are paired with their original responses (``2``) by id; replayed responses
(``3``) are ignored. See :mod:`paritycheck.capture.goreplay`.

Writing: :class:`CaptureWriter` writes HAR or JSON lines that these readers read back identically.
Which hosts of a capture are replayed: :mod:`paritycheck.capture.hosts`.

Conversion rules (all formats)
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

from typing import TYPE_CHECKING

from paritycheck.common.lazy import exports

if TYPE_CHECKING:
    from paritycheck.capture.har import DROPPED_REQUEST_HEADERS
    from paritycheck.capture.hosts import HostChoice, choose_hosts, host_of
    from paritycheck.capture.jsonl import parse_line
    from paritycheck.capture.prefetch import read_fast, read_in_child
    from paritycheck.capture.reader import detect, digest, read
    from paritycheck.capture.select import Selector
    from paritycheck.capture.templates import PARAM, KnownNames, kept_literals, learn_templates
    from paritycheck.capture.write import CaptureWriter, Redactor, writer_format

# Each export loads its own module on first use (paritycheck/common/lazy.py).
__getattr__ = exports(
    __name__,
    {
        "DROPPED_REQUEST_HEADERS": "har",
        "HostChoice": "hosts",
        "choose_hosts": "hosts",
        "host_of": "hosts",
        "parse_line": "jsonl",
        "read_fast": "prefetch",
        "read_in_child": "prefetch",
        "detect": "reader",
        "digest": "reader",
        "read": "reader",
        "Selector": "select",
        "PARAM": "templates",
        "KnownNames": "templates",
        "kept_literals": "templates",
        "learn_templates": "templates",
        "CaptureWriter": "write",
        "Redactor": "write",
        "writer_format": "write",
    },
)

__all__ = [
    "DROPPED_REQUEST_HEADERS",
    "PARAM",
    "CaptureWriter",
    "HostChoice",
    "KnownNames",
    "Redactor",
    "Selector",
    "choose_hosts",
    "detect",
    "digest",
    "host_of",
    "kept_literals",
    "learn_templates",
    "parse_line",
    "read",
    "read_fast",
    "read_in_child",
    "writer_format",
]
