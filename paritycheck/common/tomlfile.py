"""Reading a TOML file for the configuration and the accepted-differences file: one error naming the
file, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from paritycheck.errors import ConfigError

__all__ = ["read_toml"]


def read_toml(file: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax or read error is a ConfigError naming the file."""
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}", hint="fix the syntax at the line named") from None
    except OSError as exc:
        raise ConfigError(
            f"{file}: cannot read: {exc.strerror}", hint="check the file's permissions"
        ) from None
