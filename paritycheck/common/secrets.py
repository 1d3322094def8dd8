"""Secrets recognised by how they look, wherever they sit: JWTs, well-known token prefixes, private keys,
random-looking strings, and the user information of a URL.

Pure recognition, with no key and no marks: :mod:`paritycheck.compare.redact` replaces what this finds
(with a keyed hash, so equal values stay equal), and the lower stages use it directly: endpoint names
(:mod:`paritycheck.common.endpoints`) and the messages that name a backend URL (``common.urls``).

- :data:`TOKEN` matches a JWT or JWE (``eyJ`` then two to four more base64url parts), a token with a
  published prefix (GitHub ``ghp_``/``gho_``/``github_pat_``, Slack ``xox?-``, AWS ``AKIA``, Stripe
  ``sk_live_``, Google ``AIza`` and ``ya29.``, GitLab, npm, PyPI, OpenAI, Anthropic, SendGrid, Hugging
  Face, Shopify, DigitalOcean) or a PEM private key. These are secrets in any position.
- :func:`looks_random` says whether one path segment or query value is a long random string (an opaque
  token without a known prefix). It is applied only there: bodies are full of random ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

__all__ = [
    "TOKEN",
    "has_token",
    "hide_userinfo",
    "is_token",
    "looks_random",
    "split_authority",
    "split_userinfo",
    "token_spans",
]

_B64 = r"[A-Za-z0-9_-]"
_PATTERNS = (
    rf"eyJ{_B64}{{4,}}(?:\.{_B64}*){{2,4}}",  # JWS (3 parts) or JWE (5 parts), signature possibly empty
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",
    r"xapp-[A-Za-z0-9-]{10,}",
    r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])",
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    r"whsec_[A-Za-z0-9+/=]{20,}",
    r"AIza[A-Za-z0-9_-]{35}",
    rf"ya29\.{_B64}{{20,}}",
    rf"glpat-{_B64}{{20,}}",
    r"dop_v1_[a-f0-9]{64}",
    r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
    rf"pypi-AgE{_B64}{{50,}}",
    # Short prefixes that ordinary words can end with ("task-", "chef_"): only at the start of a word.
    r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}",
    rf"(?<![A-Za-z0-9])sk-(?:proj-|ant-[a-z0-9]+-)?{_B64}{{20,}}",
    rf"(?<![A-Za-z0-9])SG\.{_B64}{{16,}}\.{_B64}{{16,}}",
    r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}",
    r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----.{0,20000}?(?:-----END[A-Z ]{0,20} PRIVATE KEY"
    r"(?: BLOCK)?-----|\Z)",
)
#: Any secret recognised by its look alone.
TOKEN = re.compile("|".join(_PATTERNS), re.DOTALL)
_TOKEN_BYTES = re.compile("|".join(_PATTERNS).encode(), re.DOTALL)

# Every token but a private key is a run of at least 19 of these characters (an AWS key id is 20, a
# minimal JWT header 19), and searching the regex is ~30x dearer than finding such runs: bytes are
# mapped to "a" (run character) or " " and the runs found with bytes.find, both in C.
_RUN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/="
_RUN_TABLE = bytes(0x61 if b in _RUN_CHARS else 0x20 for b in range(256))
_MIN_RUN = 19
_RUN = b"a" * _MIN_RUN


def _runs(data: bytes) -> Iterator[tuple[int, int]]:
    mapped = data.translate(_RUN_TABLE)
    start = mapped.find(_RUN)
    while start >= 0:
        end = mapped.find(b" ", start + _MIN_RUN)
        if end < 0:
            end = len(mapped)
        yield start, end
        start = mapped.find(_RUN, end)


def token_spans(data: bytes) -> list[tuple[int, int]]:
    """Where :data:`TOKEN` matches in ``data`` (bytes of any encoding that keeps ASCII as is)."""
    spans: list[tuple[int, int]] = []
    for start, end in _runs(data):
        # A token may start a few characters before the run (a lookbehind) but never outside it.
        spans.extend(m.span() for m in _TOKEN_BYTES.finditer(data, start, end))
    if b"PRIVATE KEY" in data:
        spans.extend(m.span() for m in _TOKEN_BYTES.finditer(data) if m.group().startswith(b"-----BEGIN"))
        spans.sort()
        apart: list[tuple[int, int]] = []
        for span in spans:  # a key block holds runs of its own: keep the outermost span
            if apart and span[0] < apart[-1][1]:
                apart[-1] = (apart[-1][0], max(apart[-1][1], span[1]))
            else:
                apart.append(span)
        spans = apart
    return spans


def has_token(text: str) -> bool:
    """Whether :data:`TOKEN` matches somewhere in ``text`` (cheap unless it holds a long run)."""
    return len(text) >= _MIN_RUN and bool(token_spans(text.encode("utf-8", "surrogatepass")))


# ------------------------------------------------------------------------------------- random strings

_RANDOM_CHARS = re.compile(r"[A-Za-z0-9_\-+/=~]{20,2048}")
_HEX_OR_UUID = re.compile(r"[0-9a-fA-F-]+")
_CHUNK = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_VOWELS = re.compile(r"[aeiouy]")
#: Shannon entropy (bits per character) below which a string repeats itself too much to be random: a
#: random 20-character base62 string has ~4.0, and 3.65 at its first percentile.
MIN_ENTROPY = 3.5
#: Share of letters in word-like chunks at or above which a string reads as words ("getUserProfile2024",
#: a slug): random base62 strings of 20 characters reach it one time in ~1,000, of 32 almost never.
MAX_WORDISH = 0.85


def _entropy(text: str) -> float:
    n = len(text)
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _wordish(chunk: str) -> bool:
    """A chunk that could be a word: three letters or more, with vowels, no long consonant clusters."""
    low = chunk.lower()
    vowels = len(_VOWELS.findall(low))
    return len(low) >= 3 and vowels * 5 >= len(low) and max(map(len, _VOWELS.split(low))) <= 3


def looks_random(value: str) -> bool:
    """Whether ``value`` (a path segment, a query value) is a long random string: an opaque token.

    At least 20 characters of base64 or base64url, two kinds of character (upper case, lower case,
    digits), high entropy, and not words. Numbers, hexadecimal strings (hashes, ids) and UUIDs are
    never random here: they are ids far more often than secrets, and hiding them would hide the
    request they name.
    """
    if not _RANDOM_CHARS.fullmatch(value) or _HEX_OR_UUID.fullmatch(value):
        return False
    kinds = (
        any(c.isupper() for c in value) + any(c.islower() for c in value) + any(c.isdigit() for c in value)
    )
    if kinds < 2 or _entropy(value) < MIN_ENTROPY:
        return False
    letters = sum(c.isalpha() for c in value)
    words = sum(len(chunk) for chunk in _CHUNK.findall(value) if _wordish(chunk))
    return words < MAX_WORDISH * letters


def is_token(value: str) -> bool:
    """Whether the whole of ``value`` is a recognised token or a random string."""
    m = TOKEN.fullmatch(value) if len(value) >= _MIN_RUN else None
    return m is not None or looks_random(value)


# ------------------------------------------------------------------------------------------- userinfo

_AUTHORITY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*")


def split_authority(url: str) -> tuple[str, str]:
    """``(scheme://authority, rest)`` of an absolute (or scheme-relative) URL; ``("", url)`` otherwise."""
    m = _AUTHORITY.match(url)
    return (url[: m.end()], url[m.end() :]) if m else ("", url)


def split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(before, userinfo, after)`` of a URL with user information (``scheme://USERINFO@host...``).

    The last ``@`` of the authority ends the user information, as RFC 3986 parsers read it.
    """
    authority, _ = split_authority(url)
    at = authority.rfind("@")
    if at < 0:
        return None
    start = authority.index("//") + 2
    return url[:start], url[start:at], url[at:]


_URL_WITH_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)([^/?#\s'\"<>]*)@")


def hide_userinfo(text: str, mark: Callable[[str], str] = lambda _: "redacted") -> str:
    """``text`` (a URL or a message holding URLs) with each URL's user information replaced by ``mark``."""
    if "@" not in text:
        return text
    return _URL_WITH_USERINFO.sub(lambda m: f"{m.group(1)}{mark(m.group(2))}@", text)
