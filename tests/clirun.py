"""The CLI in the test process, run as from a folder (click's runner; an exception is raised, not kept)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from click.testing import CliRunner, Result

from paritycheck.cli import cli


def invoke(*args: str, cwd: Path) -> Result:
    """``paritycheck ARGS`` run in ``cwd``, so that a ``paritycheck.toml`` there is the one read."""
    with contextlib.chdir(cwd):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
