"""One exception tree for everything paritycheck reports to a user.

::

    ParitycheckError              message + hint naming the fix; exit 2 unless stated
    ├── ConfigError               bad paritycheck.toml / [tool.paritycheck] / option value
    ├── CaptureError              unreadable, malformed or truncated capture (names file and entry)
    ├── SpecError                 invalid OpenAPI description (names file and location)
    ├── StoreError                database missing, unreadable, or without the asked-for run
    │   └── StoreUnavailable      the database went away mid-run (a PostgreSQL outage; exit 3)
    └── BackendError              a backend cannot be used at all (exit 3)

Per-exchange transport failures are not exceptions: they become failed outcomes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes, shared by every command."""

    OK = 0
    DIFFERENCES = 1
    USAGE = 2
    FAILURE = 3
    INTERRUPTED = 130
    #: Stopped by SIGTERM, handled like Ctrl-C (128 + 15, what a shell reports for a TERM death).
    TERMINATED = 143


class ParitycheckError(Exception):
    """Base class: a one-line message and a hint that names the fix."""

    exit_status: ExitStatus = ExitStatus.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(ParitycheckError):
    """The configuration is wrong: unknown key, wrong type, bad JSONPath, missing backend."""


class CaptureError(ParitycheckError):
    """A capture file cannot be read. The message names the file and, where known, the entry index."""

    def __init__(self, message: str, *, file: str, entry: int | None = None, hint: str | None = None) -> None:
        where = file if entry is None else f"{file}: entry {entry}"
        super().__init__(f"{where}: {message}", hint=hint)
        self.file = file
        self.entry = entry


class SpecError(ParitycheckError):
    """An OpenAPI description cannot be loaded or is invalid."""


class StoreError(ParitycheckError):
    """The results database cannot be used for what was asked."""


class StoreUnavailable(StoreError):
    """The results database went away while a run wrote to it (a PostgreSQL outage): not the user's
    input, so exit 3; what was committed before it stays, and ``replay --resume`` continues the run."""

    exit_status = ExitStatus.FAILURE


class BackendError(ParitycheckError):
    """A backend cannot be used at all (for example its base URL is not http or https)."""

    exit_status = ExitStatus.FAILURE
