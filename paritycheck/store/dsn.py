"""A --db value: a SQLite file or a PostgreSQL DSN, how it may be printed, and the error of an outage.

Kept apart from ``postgres.py`` so that telling the two apart never imports psycopg: a SQLite run (the
default) and every helper process it starts pay nothing for the PostgreSQL driver.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from paritycheck.errors import StoreUnavailable


def is_dsn(location: object) -> bool:
    """Whether ``location`` (a --db value) names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def redact_dsn(dsn: str) -> str:
    """The DSN with its password (in the userinfo or a ``password=`` parameter) replaced by ``***``."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def display_location(location: object) -> str:
    """A --db value as it may be printed: a path as is, a DSN without its password."""
    return redact_dsn(str(location)) if is_dsn(location) else str(location)


def first_line(text: str) -> str:
    """A driver's message as one line."""
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


OUTAGE_HINT = (
    "the run stopped at once; what it stored is kept. Once the server is back, `paritycheck replay"
    " --resume` (same captures and --db) continues it"
)


def outage(shown: str, exc: BaseException) -> StoreUnavailable:
    """The error of a run whose PostgreSQL at ``shown`` went away mid-run, naming the outage."""
    return StoreUnavailable(
        f"lost the connection to PostgreSQL at {shown}: {first_line(str(exc))}", hint=OUTAGE_HINT
    )
