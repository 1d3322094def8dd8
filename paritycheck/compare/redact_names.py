"""Secrets by name: which header names, query and form parameter names and JSON keys hold a secret.

Names are compared without case and without ``_``, ``-`` or ``.``, so ``accessToken``, ``Access-Token``
and ``access_token`` are one name. A name is secret when it contains one of :data:`SECRET_PARTS`
(``password``, ``secret``, ``apikey``, ``credential``, ``jwt``, ...), ends with ``token``
(``total_tokens`` and ``token_type`` are not secrets), or is one of a few short exact names (``pwd``,
``otp``, ``sig``, ``session``). Header names are wider: anything containing ``token``, ``secret``,
``password``, ``apikey``, ``session``, ``signature``, ``credential``, plus ``authorization`` and cookies.
Query parameters add the names that carry credentials in URLs (``key``, ``code``, AWS's signatures).
"""

from __future__ import annotations

import functools
import re

SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "privatekey",
    "sessionid",
    "sessiontoken",
    "sessionkey",
    "authorization",
    "credential",
    "jwt",
    "cardnumber",
    "creditcard",
    "cvv",
    "cvc",
    "csrf",
    "xsrf",
)
SECRET_EXACT = frozenset(
    {"pwd", "pin", "otp", "ssn", "auth", "sig", "signature", "cookie", "setcookie", "session"}
)
_HEADER_PARTS = ("token", "secret", "password", "passwd", "apikey", "session", "signature", "credential")
#: Query parameters that carry credentials in URLs besides the names above (``?key=AIza...``).
_QUERY_EXACT = frozenset({"key", "code", "accesskey", "xamzcredential", "xamzsignature", "xamzsecuritytoken"})
_NOT_NAME = re.compile(r"[^a-z0-9]")
_name_cache: dict[str, str] = {}


def compact(name: str) -> str:
    """``name`` lower-cased, with everything but ASCII letters and digits dropped."""
    out = _name_cache.get(name)
    if out is None:
        out = _NOT_NAME.sub("", name.lower())
        if len(_name_cache) > 10_000:
            _name_cache.clear()
        _name_cache[name] = out
    return out


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """True when a JSON key or parameter named ``name`` holds a secret."""
    c = compact(name)
    return c.endswith("token") or c in SECRET_EXACT or any(part in c for part in SECRET_PARTS)


@functools.lru_cache(maxsize=4096)
def is_secret_header(name: str) -> bool:
    """True when a header named ``name`` holds a secret."""
    c = compact(name)
    return is_secret_name(name) or any(part in c for part in _HEADER_PARTS)


@functools.lru_cache(maxsize=8192)
def is_secret_param(name: str) -> bool:
    """True when a query or form parameter named ``name`` holds a secret."""
    return is_secret_name(name) or compact(name) in _QUERY_EXACT


#: Bytes that :func:`compact` drops from a name: everything but ASCII letters and digits.
_NON_ALNUM = bytes(b for b in range(256) if not (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122))
#: Every compacted secret name (JSON key, form parameter) contains one of these: a superset of
#: is_secret_name and is_secret_param, so keep the two in step. A false positive costs only a parse.
#: pass, pwd, pin; secret, session, ssn, sig; token; auth; card, cvv, cvc, csrf, cookie, code,
#: credential; xsrf, xamz; otp; jwt; key (so apikey and privatekey): grouped by first letter, so the
#: regex engine rejects most positions at once (a flat alternation tries every word at every byte).
_SECRET_FRAGMENTS = re.compile(
    rb"p(?:ass|wd|in)|s(?:ecret|ession|sn|ig)|token|auth|c(?:ard|vv|vc|srf|ookie|ode|redential)"
    rb"|x(?:srf|amz)|otp|jwt|key"
)


def may_hold_secret_name(data: bytes) -> bool:
    """False only when no key or parameter of ``data`` can be secret-named (cheap: no parsing).

    A secret name is contiguous in the raw bytes, so once the bytes are compacted like names are
    (lower-cased, non-alphanumerics dropped) it is a substring. Escapes (``\\u``, ``%``) and non-ASCII
    bytes can spell a name otherwise, so they always take the full path.
    """
    if not data.isascii() or b"\\u" in data or b"%" in data or b"+" in data:
        return True
    return _SECRET_FRAGMENTS.search(data.lower().translate(None, _NON_ALNUM)) is not None
