"""``[auth]``: log in to each backend with its own credentials, and put its own token in each request.

The login runs once per backend before the replay and again when that backend answers 401 to a request
that carried its token (an expired token). The token is read from the login answer at a JSONPath (tried
on the raw body, then on the normalised one, so ``$.access_token`` also finds
``{"data": {"accessToken": ...}}``) or from a header (``header:X-Auth-Token``).
"""

from __future__ import annotations

import asyncio
import json

from paritycheck.common.jsonpath import JsonPath, parse
from paritycheck.compare import Rules
from paritycheck.config import AuthConfig, NormaliseConfig, expand_env, expand_env_json
from paritycheck.errors import BackendError, ConfigError
from paritycheck.models import Request, header
from paritycheck.replay import Engine
from paritycheck.session.correlate import parse_json, scalar_text

__all__ = ["Login"]


class Login:
    """Per-backend tokens from an ``[auth]`` login request."""

    def __init__(
        self, config: AuthConfig, engine: Engine, *, normalise: NormaliseConfig, source: str = "configuration"
    ) -> None:
        self.config = config
        self.engine = engine
        self.source = source
        self.header = config.header.strip().lower()
        if not config.path.startswith("/"):
            raise ConfigError(f"{source}: auth.path must start with /, not {config.path!r}",
                              hint='e.g. path = "/api/v1/auth/login"')  # fmt: skip
        if not self.header:
            raise ConfigError(f"{source}: auth.header is empty", hint='e.g. header = "authorization"')
        self._path: JsonPath | None = None
        self._header: str | None = None
        if config.token.lower().startswith("header:"):
            self._header = config.token.partition(":")[2].strip().lower()
        else:
            try:
                self._path = parse(config.token)
            except ValueError as exc:
                raise ConfigError(
                    f"{source}: auth.token is not a JSONPath or header:<name>: {exc}",
                    hint='e.g. token = "$.access_token" or token = "header:X-Auth-Token"',
                ) from None
        self._rules = Rules(key_case="snake", envelope=normalise.envelope, timestamps=False)
        self.tokens: dict[str, str] = {}
        self.logins: dict[str, int] = {"legacy": 0, "candidate": 0}
        self._locks = {"legacy": asyncio.Lock(), "candidate": asyncio.Lock()}
        self._request = self._login_request()

    def _login_request(self) -> Request:
        c = self.config
        where = "auth"
        headers = {k.lower(): expand_env(v, where=f"{where}.headers.{k}", source=self.source)
                   for k, v in c.headers.items()}  # fmt: skip
        if isinstance(c.body, str):
            body = expand_env(c.body, where=f"{where}.body", source=self.source).encode() if c.body else None
        else:
            data = expand_env_json(c.body, where=f"{where}.body", source=self.source)
            body = json.dumps(data, separators=(",", ":")).encode() if data else None
        if body is not None:
            headers.setdefault("content-type", "application/json")
        path, _, query = c.path.partition("?")
        return Request(c.method.upper(), path, path, query, tuple(headers.items()), body)

    async def start(self, sides: tuple[str, ...] = ("legacy", "candidate")) -> None:
        """Log in to ``sides`` (default both); a backend that issues no token is a :class:`BackendError`.

        The inline proxy logs in to the candidate only: the legacy gets the client's own credentials.
        """
        await asyncio.gather(*(self._login(side) for side in sides))

    async def _login(self, side: str) -> str:
        self.logins[side] += 1
        reply = await self.engine.ask(side, self._request)
        what = f"{side}: [auth] login {self._request.method} {self._request.path}"
        if reply.error is not None:
            raise BackendError(f"{what} failed: {reply.error}", hint=f"check that the {side} backend is up")
        token = self._token(reply.status, reply.headers, reply.body)
        if token is None:
            raise BackendError(
                f"{what} answered {reply.status} without a token at {self.config.token}",
                hint=f"check [auth] body credentials and token (in {self.source})",
            )
        self.tokens[side] = token
        return token

    def _token(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> str | None:
        if status >= 400:
            return None
        if self._header is not None:
            return header(headers, self._header)
        assert self._path is not None
        doc = parse_json(body)
        if doc is None:
            return None
        for candidate in (doc, self._rules.apply(doc)):
            for _parts, value in self._path.find(candidate):
                text = scalar_text(value)
                if text is not None:
                    return text
        return None

    def apply(self, side: str, request: Request) -> tuple[Request, str | None]:
        """``request`` with this backend's token in place of a captured credential; the token used."""
        token = self.tokens.get(side)
        if token is None or not any(k == self.header for k, _ in request.headers):
            return request, None
        value = f"{self.config.scheme} {token}" if self.config.scheme else token
        headers = tuple((k, value if k == self.header else v) for k, v in request.headers)
        return Request(
            request.method, request.url, request.path, request.query, headers, request.body, request.stream
        ), token

    async def refresh(self, side: str, used: str) -> bool:
        """Log in again after a 401 to a request sent with token ``used``; whether a new token exists."""
        async with self._locks[side]:
            if self.tokens.get(side) != used:
                return True  # another request already logged in again
            try:
                await self._login(side)
            except BackendError:
                return False
            return self.tokens.get(side) != used
