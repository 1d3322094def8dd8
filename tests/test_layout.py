"""The package reads as its pipeline: each stage folder says what it is; no module is over 500 lines."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "paritycheck"
STAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
MAX_LINES = 500


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_a_docstring_and_exports_names_that_exist(stage: str) -> None:
    module = importlib.import_module(f"paritycheck.{stage}")
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 8, f"paritycheck/{stage}/__init__.py needs a docstring of a few lines"
    exported = getattr(module, "__all__", None)
    if stage != "samples":  # the demo backends are run, not imported
        assert exported, f"paritycheck.{stage} exports no public names (__all__)"
    for name in exported or ():
        # A submodule export (paritycheck.common's) is an attribute only once something imported it.
        submodule = (PACKAGE / stage / f"{name}.py").is_file()
        assert not name.startswith("_"), f"paritycheck.{stage}.{name}"
        assert hasattr(module, name) or submodule, f"paritycheck.{stage}.{name}"


def test_no_module_is_over_500_lines() -> None:
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    long = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by responsibility: {long}"


def test_a_sqlite_replay_loads_no_client_library_nor_the_postgresql_driver() -> None:
    """Every process of a default run (the CLI, its workers, the store and capture children, a live
    listener's shadow helper, a session's ``paritycheck.samples reset`` hook) pays for what it imports
    at each start: aiohttp, httpx and psycopg load only where they are used (the helper imports aiohttp
    when it serves --admin), and so do the report writers and the rollout (a package's exports load on
    first use, paritycheck/common/lazy.py)."""
    import subprocess
    import sys

    modules = [
        "paritycheck.cli.replay",
        "paritycheck.run",
        "paritycheck.store.child",
        "paritycheck.capture.child",
        "paritycheck.live.helper",
        "paritycheck.samples.__main__",
    ]
    heavy = "{'aiohttp', 'httpx', 'psycopg', 'paritycheck.report.html', 'paritycheck.rollout'}"
    probe = f"import sys; import {', '.join(modules)}; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout
