"""Placeholder credentials in generated requests, filled with each backend's own value at send time.

``paritycheck explore`` writes ``paritycheck-explore.<scheme>`` where the spec's security scheme puts a
credential (an ``Authorization`` header, an API key header, query parameter or cookie). The capture
never holds a secret; when the request is sent, each placeholder becomes that backend's value: the
``[explore.credentials]`` value of the scheme (one for both backends, or one each), else the ``[auth]``
login's token. A placeholder nothing fills is sent as it is, to both backends alike. A bare
``paritycheck-explore`` (captures generated before schemes were read) takes the login's token.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from urllib.parse import quote_plus, unquote_plus

from paritycheck.config import expand_env
from paritycheck.models import Request

__all__ = ["PLACEHOLDER", "Credentials", "placeholder"]

PLACEHOLDER = "paritycheck-explore"
_FIND = re.compile(re.escape(PLACEHOLDER) + r"(?:\.([A-Za-z0-9._-]+))?")


def placeholder(scheme: str) -> str:
    """The placeholder credential of security scheme ``scheme`` (component names are ``[A-Za-z0-9._-]``)."""
    return f"{PLACEHOLDER}.{re.sub(r'[^A-Za-z0-9._-]', '-', scheme)}"


class Credentials:
    """Each backend's credential per security scheme (``[explore.credentials]``), and the login's token."""

    def __init__(self, configured: Mapping[str, str | Mapping[str, str]], *, source: str) -> None:
        self._values: dict[str, dict[str, str]] = {}
        for name, value in configured.items():
            where = f"explore.credentials.{name}"
            if isinstance(value, str):
                text = expand_env(value, where=where, source=source)
                self._values[name] = {"legacy": text, "candidate": text}
            else:
                self._values[name] = {
                    side: expand_env(value[side], where=f"{where}.{side}", source=source)
                    for side in ("legacy", "candidate")
                }

    @property
    def configured(self) -> bool:
        return bool(self._values)

    @staticmethod
    def holds(request: Request) -> bool:
        """Whether ``request`` carries a placeholder credential (a generated request)."""
        return PLACEHOLDER in request.query or any(PLACEHOLDER in v for _, v in request.headers)

    def fill(self, side: str, request: Request, *, token: str | None) -> tuple[Request, str | None]:
        """``request`` with every placeholder replaced by ``side``'s value; the login token if it was used."""
        used: list[str] = []

        def value(match: re.Match[str], *, basic: bool = False) -> str:
            name = match.group(1)
            own = self._values.get(name, {}).get(side) if name is not None else None
            if own is None:
                if token is None:
                    return match.group()
                used.append(token)
                own = token
            if basic and ":" in own:  # user:password, as HTTP Basic sends it
                own = base64.b64encode(own.encode()).decode()
            return own

        headers = []
        for name, text in request.headers:
            if PLACEHOLDER in text:
                basic = name.lower() == "authorization" and text[:6].lower() == "basic "
                text = _FIND.sub(lambda m, basic=basic: value(m, basic=basic), text)  # type: ignore[misc]
            headers.append((name, text))
        query = request.query
        if PLACEHOLDER in query:
            pairs = []
            for pair in query.split("&"):
                key, eq, raw = pair.partition("=")
                if PLACEHOLDER in raw:
                    raw = quote_plus(_FIND.sub(value, unquote_plus(raw)))
                pairs.append(f"{key}{eq}{raw}")
            query = "&".join(pairs)
        filled = Request(
            request.method, request.url, request.path, query, tuple(headers), request.body, request.stream
        )
        return filled, (used[0] if used else None)
