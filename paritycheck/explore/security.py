"""Where a generated request carries its credentials: the spec's ``securitySchemes``, not a guess.

Each operation's ``security`` (else the document's) lists alternative requirements; a requirement names
schemes that all apply at once. A scheme says where its credential goes:

- ``http`` with ``scheme: bearer`` (or ``Token``, ``Digest``, ...): ``Authorization: <Scheme> <credential>``
  (``basic``: the credential is ``user:password``, sent base64-encoded);
- ``apiKey``: a header, a query parameter or a cookie of the given name;
- ``oauth2`` and ``openIdConnect``: ``Authorization: Bearer <credential>``.

Generated requests carry a placeholder credential per scheme (``paritycheck-explore.<scheme>``), which
the replay fills with each backend's own value (session/credentials.py): a configured
``[explore.credentials]`` value, else the ``[auth]`` login's token. Swagger 2.0's
``securityDefinitions`` are read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paritycheck.session import placeholder

__all__ = ["Scheme", "Security", "security_of"]

HEADER, QUERY, COOKIE = "header", "query", "cookie"


@dataclass(frozen=True, slots=True)
class Scheme:
    """One security scheme: its name in the spec and where its credential goes."""

    name: str
    #: ``header``, ``query`` or ``cookie``.
    location: str
    #: The header, query parameter or cookie name (``authorization`` for the HTTP schemes).
    field: str
    #: Written before the credential in an ``Authorization`` header (``Bearer``, ``Token``, ``Basic``).
    prefix: str = ""

    def value(self) -> str:
        """The placeholder as this scheme sends it (``Token paritycheck-explore.tokenAuth``)."""
        token = placeholder(self.name)
        return f"{self.prefix} {token}" if self.prefix else token


@dataclass(frozen=True, slots=True)
class Security:
    """An operation's credentials: the requirement its requests meet, and every place one could go."""

    #: The schemes of the chosen requirement (empty: the operation needs no credentials).
    chosen: tuple[Scheme, ...] = ()
    #: Whether any requirement needs credentials (an optional ``{}`` alone does not).
    secured: bool = False
    #: Lower-case header names, query and cookie names that carry a credential of any of its schemes.
    headers: frozenset[str] = frozenset()
    queries: frozenset[str] = frozenset()
    cookies: frozenset[str] = frozenset()

    def is_credential(self, location: str, name: str) -> bool:
        """Whether parameter ``name`` in ``location`` is one of the operation's credentials."""
        if location == HEADER:
            return name.lower() in self.headers
        return name in (self.queries if location == QUERY else self.cookies)


def _resolve(raw: dict[str, Any], node: Any) -> Any:
    """A local ``$ref`` (``#/components/securitySchemes/x``) followed; anything else as it is."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 16:
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            return None
        target: Any = raw
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    return node


def _scheme(name: str, raw: Any) -> Scheme | None:
    if not isinstance(raw, dict):
        return None
    kind = str(raw.get("type", "")).lower()
    if kind == "apikey":
        where, field = str(raw.get("in", "")).lower(), raw.get("name")
        if where in (HEADER, QUERY, COOKIE) and isinstance(field, str) and field:
            return Scheme(name, where, field.lower() if where == HEADER else field)
        return None
    if kind == "http":
        scheme = str(raw.get("scheme", "bearer")).strip() or "bearer"
        prefix = {"bearer": "Bearer", "basic": "Basic"}.get(scheme.lower(), scheme)
        return Scheme(name, HEADER, "authorization", prefix)
    if kind == "basic":  # Swagger 2.0
        return Scheme(name, HEADER, "authorization", "Basic")
    if kind in ("oauth2", "openidconnect"):
        return Scheme(name, HEADER, "authorization", "Bearer")
    return None  # mutualTLS: nothing a request can carry


def _schemes(raw: dict[str, Any]) -> dict[str, Scheme]:
    components = raw.get("components")
    table = components.get("securitySchemes") if isinstance(components, dict) else None
    if table is None:
        table = raw.get("securityDefinitions")
    out: dict[str, Scheme] = {}
    for name, node in (table or {}).items() if isinstance(table, dict) else ():
        scheme = _scheme(str(name), _resolve(raw, node))
        if scheme is not None:
            out[str(name)] = scheme
    return out


def security_of(raw: dict[str, Any], operation: dict[str, Any], *, usable: frozenset[str] | None) -> Security:
    """The credentials of ``operation`` (its raw definition) in the spec ``raw``.

    ``usable`` names the schemes a credential is configured for (None: any scheme, as an ``[auth]`` login
    gives a token for each): the first requirement they all meet is chosen, else the first one.
    """
    schemes = _schemes(raw)
    requirements = operation.get("security", raw.get("security"))
    options: list[tuple[Scheme, ...]] = []
    secured = False
    for requirement in requirements if isinstance(requirements, list) else ():
        if not isinstance(requirement, dict) or not requirement:
            continue
        secured = True
        found = tuple(schemes[n] for n in requirement if n in schemes)
        if len(found) == len(requirement):
            options.append(found)
    every = ([s for option in options for s in option] or list(schemes.values())) if secured else []
    chosen = next((o for o in options if usable is None or all(s.name in usable for s in o)), None)
    if chosen is None and options:
        chosen = options[0]
    return Security(
        chosen=chosen or (),
        secured=secured,
        headers=frozenset(
            {*(["authorization"] if secured else []), *(s.field for s in every if s.location == HEADER)}
        ),
        queries=frozenset(s.field for s in every if s.location == QUERY),
        cookies=frozenset(s.field for s in every if s.location == COOKIE),
    )
