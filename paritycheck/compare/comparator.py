"""Compare two backend replies: status, the configured headers, and the body.

The body is compared structurally when it is JSON: when either side's content type says JSON, or when
both bodies parse as JSON whatever their type. If only one side is JSON and a content type claimed JSON,
that is one ``type`` difference at ``$``. Other bodies are compared as text (exactly; ``kind="body"``),
or by SHA-256 digest when either is binary (not UTF-8, or an image/audio/video/octet-stream/pdf/zip/font
type). Equal raw bytes are equal without parsing; two JSON bodies are normalised only where they differ
(compare/normdiff.py), and the differences of a pair of bodies are cached by their raw bytes, because
the same answers repeat across exchanges.

Headers: ``content-type`` compares the media type only, case-insensitively (no charset or boundary);
``location`` compares without scheme and host, because each backend answers with its own origin;
``cache-control`` compares the set of directives, in any order or case; other headers compare exactly.
A missing header differs from a present one. Repeated headers are joined with ``", "``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from paritycheck.common.endpoints import pattern_matches
from paritycheck.common.jsonparse import dumps_canonical, loads
from paritycheck.compare.diff import EMPTY_BODY, bounded, diff
from paritycheck.compare.normalise import Rules
from paritycheck.compare.normdiff import normalised_diff
from paritycheck.compare.streams import compare_streams
from paritycheck.compare.wirepath import wire_paths_in
from paritycheck.config import EndpointRule, NormaliseConfig
from paritycheck.models import STREAM_MEDIA, Difference, Headers, Reply

_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-protobuf",
        "application/protobuf",
        "application/grpc",
        "application/msgpack",
        "application/x-msgpack",
        "application/cbor",
        "application/wasm",
    }
)
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_CONTEXT = 60
# Pairs with a body above this size are not cached: the cache is for the small JSON answers that repeat
# (and holds both bodies: at most cache_size x 2 x this many bytes).
_CACHEABLE = 16 * 1024
_NOT_JSON: Any = object()


def media_type(content_type: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json_type(media: str) -> bool:
    # application/json, text/json, application/problem+json, application/vnd.api+json, ...
    return "json" in media


def _content_type(headers: Headers) -> str | None:
    for name, value in headers:
        if name == "content-type":
            return value
    return None


def _joined(headers: Headers, name: str) -> str | None:
    values = [value for key, value in headers if key == name]
    return ", ".join(values) if values else None


def _location(value: str) -> str:
    return _ORIGIN.sub("", value.strip()) or "/"


def _cache_control(value: str) -> str:
    directives = (d.strip() for d in value.split(","))
    return ", ".join(
        sorted(
            {name.lower() + sep + arg for name, sep, arg in (d.partition("=") for d in directives) if name}
        )
    )


_HEADER_FORMS: dict[str, Callable[[str], str]] = {
    "content-type": media_type,
    "location": _location,
    "cache-control": _cache_control,
}


def digest(data: bytes) -> str:
    """``"sha256:9f86d081884c7d65 (2048 bytes)"``: a short, comparable stand-in for a binary body."""
    return f"sha256:{hashlib.sha256(data).hexdigest()[:16]} ({len(data)} bytes)"


def _text_pair(a: str, b: str) -> tuple[str, str]:
    """Both texts cut to a window around the first difference, so long pages show what differs."""
    i = 0
    n = min(len(a), len(b))
    step = 256
    while i + step <= n and a[i : i + step] == b[i : i + step]:
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    start = max(0, i - _CONTEXT)
    if start == 0:
        return bounded(a), bounded(b)

    def cut(s: str) -> str:
        window = s[start : start + 200]
        tail = "…" if start + 200 < len(s) else ""
        return f"… [from char {start}] {window}{tail}"

    return cut(a), cut(b)


class _LRU:
    """A small least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)


class Comparator:
    """Compares replies under ``[normalise]`` plus the ``[[endpoint]]`` rules matching each endpoint."""

    def __init__(
        self,
        config: NormaliseConfig,
        endpoint_rules: Sequence[EndpointRule] = (),
        *,
        cache_size: int = 2048,
        coalesce: bool = True,
    ) -> None:
        self.config = config
        self.endpoint_rules = tuple(endpoint_rules)
        self.headers = tuple(dict.fromkeys(name.lower() for name in config.compare_headers))
        self._rules_by_endpoint: dict[str, tuple[int, Rules]] = {}
        self._rules_by_set: dict[tuple[int, ...], tuple[int, Rules]] = {}
        #: Body differences by (rules, media types, both bodies): the same pair of answers repeats.
        self._pairs = _LRU(cache_size)
        #: SignalR chunk invocations compare joined (``[streams] coalesce``).
        self.coalesce = coalesce

    def rules(self, endpoint: str) -> Rules:
        """The compiled rules for ``endpoint`` (global rules plus every matching endpoint rule)."""
        return self._rules(endpoint)[1]

    def _rules(self, endpoint: str) -> tuple[int, Rules]:
        found = self._rules_by_endpoint.get(endpoint)
        if found is None:
            matching = tuple(
                i for i, r in enumerate(self.endpoint_rules) if pattern_matches(r.match, endpoint)
            )
            found = self._rules_by_set.get(matching)
            if found is None:
                extra = [self.endpoint_rules[i] for i in matching]
                found = (len(self._rules_by_set), Rules.from_config(self.config, extra))
                self._rules_by_set[matching] = found
            if len(self._rules_by_endpoint) > 65_536:  # raw, untemplated endpoints must not grow it forever
                self._rules_by_endpoint.clear()
            self._rules_by_endpoint[endpoint] = found
        return found

    def compare(self, endpoint: str, legacy: Reply, candidate: Reply) -> tuple[Difference, ...]:
        """Every difference between two replies to the same request (legacy vs candidate, or A/A)."""
        out: list[Difference] = []
        if legacy.status != candidate.status:
            out.append(Difference("status", "status", legacy.status, candidate.status))
        for name in self.headers:
            a, b = _joined(legacy.headers, name), _joined(candidate.headers, name)
            if a == b:
                continue
            form = _HEADER_FORMS.get(name)
            if a is None or b is None or form is None or form(a) != form(b):
                out.append(Difference("header", f"header:{name}", a, b))
        if legacy.body != candidate.body:
            out.extend(self._body(endpoint, legacy, candidate))
        return tuple(out)

    def compare_bodies(self, endpoint: str, legacy: Reply, other: Reply) -> tuple[Difference, ...]:
        """Only the body differences (for legacy-vs-legacy noise checks, where headers vary freely)."""
        if legacy.body == other.body:
            return ()
        return tuple(self._body(endpoint, legacy, other))

    def _body(self, endpoint: str, legacy: Reply, candidate: Reply) -> list[Difference]:
        key, rules = self._rules(endpoint)
        type_a, type_b = (
            media_type(_content_type(legacy.headers)),
            media_type(_content_type(candidate.headers)),
        )
        if type_a == type_b == STREAM_MEDIA:
            return self._streams(endpoint, rules, legacy, candidate)
        cache_key = None
        if len(legacy.body) <= _CACHEABLE and len(candidate.body) <= _CACHEABLE:
            cache_key = (key, type_a, type_b, legacy.body, candidate.body)
            hit: list[Difference] | None = self._pairs.get(cache_key)
            if hit is not None:
                return hit
        found = self._json_body(rules, legacy, candidate, type_a, type_b)
        if found is None:
            found = self._other_body(legacy, candidate, type_a, type_b)
        if cache_key is not None:
            self._pairs.put(cache_key, found)
        return found

    def _json_body(
        self, rules: Rules, legacy: Reply, candidate: Reply, type_a: str, type_b: str
    ) -> list[Difference] | None:
        """The differences of two JSON bodies, or of a JSON body and another when a content type
        claimed JSON (one ``type`` difference); None when neither is JSON."""
        declared_a, declared_b = _is_json_type(type_a), _is_json_type(type_b)
        a, b = _parsed(legacy.body, sniff=not declared_a), _parsed(candidate.body, sniff=not declared_b)
        if a is not _NOT_JSON and b is not _NOT_JSON:
            try:
                found = normalised_diff(rules, a, b)
                return _on_the_wire(rules, found, a, b) if found else found
            except RecursionError:
                pass  # too deeply nested to walk: normalised whole below, where a side that fails is not JSON
        norm_a, norm_b = _normalised(rules, a), _normalised(rules, b)
        if norm_a is not _NOT_JSON and norm_b is not _NOT_JSON:
            if norm_a[1] == norm_b[1]:
                return []
            found = diff(norm_a[0], norm_b[0], float_tolerance=rules.float_tolerance)
            return _on_the_wire(rules, found, a, b) if found else found
        if (norm_a is not _NOT_JSON or norm_b is not _NOT_JSON) and (declared_a or declared_b):
            left = bounded(norm_a[0]) if norm_a is not _NOT_JSON else self._shown(legacy.body, type_a)
            right = bounded(norm_b[0]) if norm_b is not _NOT_JSON else self._shown(candidate.body, type_b)
            return [Difference("type", "$", left, right)]
        return None

    @staticmethod
    def _other_body(legacy: Reply, candidate: Reply, type_a: str, type_b: str) -> list[Difference]:
        """Bodies that are not JSON: compared as text, or by digest when either is binary."""
        text_a, text_b = _text(legacy.body, type_a), _text(candidate.body, type_b)
        if text_a is None or text_b is None:
            return [Difference("body", "$", digest(legacy.body), digest(candidate.body))]
        left, right = _text_pair(text_a, text_b)
        return [Difference("body", "$", left, right)]

    def _streams(self, endpoint: str, rules: Rules, legacy: Reply, candidate: Reply) -> list[Difference]:
        """Two replayed streams: their events aligned as sequences (compare/streams.py)."""
        unordered = any(r.unordered_events for r in self.endpoint_rules if pattern_matches(r.match, endpoint))
        return compare_streams(
            loads(legacy.body),
            loads(candidate.body),
            normalise=rules.apply,
            float_tolerance=rules.float_tolerance,
            unordered=unordered,
            coalesce=self.coalesce,
        )

    @staticmethod
    def _shown(data: bytes, media: str) -> str:
        if not data:
            return EMPTY_BODY
        text = _text(data, media)
        return digest(data) if text is None else bounded(text)


def _parsed(data: bytes, *, sniff: bool) -> Any:
    """The parsed JSON body, or ``_NOT_JSON``; ``sniff``: only when it starts as JSON can."""
    if not data or (sniff and data.lstrip()[:1] not in b'{["-0123456789tfn'):
        return _NOT_JSON
    try:
        return loads(data)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _normalised(rules: Rules, doc: Any) -> Any:
    """The normalised document and its canonical bytes, or ``_NOT_JSON`` (also when too deep to normalise)."""
    if doc is _NOT_JSON:
        return _NOT_JSON
    try:
        value = rules.apply(doc)
        return value, dumps_canonical(value)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _on_the_wire(rules: Rules, found: list[Difference], raw_a: Any, raw_b: Any) -> list[Difference]:
    """``found`` with each side's wire path where normalisation renamed a key (only differing pairs pay);
    ``raw_a`` and ``raw_b`` are the parsed bodies, before normalising."""
    if rules.envelope != "auto" and rules.key_case == "none":
        return found
    paths = [d.path for d in found]
    out = []
    for d, wire_a, wire_b in zip(
        found, wire_paths_in(rules, raw_a, paths), wire_paths_in(rules, raw_b, paths), strict=True
    ):
        if wire_a != d.path or wire_b != d.path:
            d = dataclasses.replace(
                d,
                legacy_path=wire_a if wire_a != d.path else None,
                candidate_path=wire_b if wire_b != d.path else None,
            )
        out.append(d)
    return out


def _text(data: bytes, media: str) -> str | None:
    """The body as text, or None when it is binary."""
    if media.startswith(_BINARY_PREFIXES) or media in _BINARY_TYPES:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
