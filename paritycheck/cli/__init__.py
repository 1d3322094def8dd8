"""Command-line interface: click commands only, one module per group of commands.

Each command parses options, builds a configuration, calls one library function and maps the outcome
to an :class:`~paritycheck.errors.ExitStatus`. Errors go to stderr as one line plus a hint; a traceback
only with ``--traceback``. ``base`` holds the group, the shared options and the error mapping.
"""

from __future__ import annotations

from paritycheck.cli import analysis, explore, live, replay, results, rollout  # noqa: F401  (registers them)
from paritycheck.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="paritycheck")
