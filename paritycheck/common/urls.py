"""Backend base URLs: what makes one unusable, and how to name one in a message without its secrets.

One rule for every place a backend URL enters (``[backends]``, ``--legacy``/``--candidate``, the
transports), checked before anything is stored or sent: a URL with credentials or a query used to pass
the configuration, open a run and then fail every exchange (issue 23).
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["backend_url_problem", "shown_url"]


def backend_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a backend's base URL, or None (also for "", which means not configured)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL with a host"
    if port == 0:
        return "has port 0"
    if "@" in parts.netloc:
        return "holds credentials (user:password@): send them as a header, [backends.<side>.headers]"
    if parts.query or parts.fragment:
        return "holds a query or a fragment: a backend is scheme, host, port and an optional path prefix"
    return None


def shown_url(url: str) -> str:
    """``url`` fit for a message: its credentials (``user:password@``) and query values left out.

    A backend URL with either is refused, and the message that says so must not print them: a query
    can hold a key as well as user information can (``?api_key=...``).
    """
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if sep and "@" in netloc:
        url = f"{scheme}://(credentials not shown)@{netloc.rpartition('@')[2]}{slash}{tail}"
    base, qmark, query = url.partition("?")
    if not qmark:
        return url
    query, hash_, fragment = query.partition("#")
    shown = "&".join(
        f"{name}=(not shown)" if value else part
        for part in query.split("&")
        for name, _, value in [part.partition("=")]
    )
    return f"{base}?{shown}{hash_}{'(not shown)' if fragment else ''}"
