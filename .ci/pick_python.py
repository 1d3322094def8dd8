#!/usr/bin/env python3
"""Print the path of the fastest CPython 3.11+ here that can make a venv (`make` creates .venv with it).

Machines often carry two: a distribution's build, compiled with profile-guided and link-time optimisation,
and a self-built one (pyenv, asdf) without them. On the 2-core machine of docs/development.md, Debian's
/usr/bin/python3.11 ran the suite's imports 1.4x and `make test` 1.2x faster than pyenv's 3.11 build (built
with --enable-shared and no --enable-optimizations). So each candidate runs the same short mixed workload
(bytecode loading, function calls, dicts and strings, as the suite's ~300 Python processes do) in
alternating rounds, and the one with the lowest median CPU time wins. With one candidate, it is printed.

Run with any Python 3; prints nothing and exits 1 when no candidate qualifies (the Makefile then falls back
to `python3.11`, then `python3`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys

ROUNDS = 3
CHECK = "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"
WORKLOAD = r"""
import marshal, time
body = "return {'k': a, 'v': [b] * 3, 's': str(a) + 'x'}"
source = "\n".join(f"def f{i}(a, b=2):\n    " + body for i in range(300))
code = compile(source, "bench", "exec")
t = time.process_time()
for _ in range(150):
    ns = {}
    exec(marshal.loads(marshal.dumps(code)), ns)
    total = 0
    for i in range(300):
        total += len(ns[f"f{i}"](i)["s"])
print(time.process_time() - t)
"""


def candidates() -> list[str]:
    found: dict[str, str] = {}  # real path -> the name to print
    names = ["python3.11", "python3.12", "python3.13", "python3"]
    for name in names:
        path = shutil.which(name)
        if path:
            found.setdefault(os.path.realpath(resolve_shim(path)), path)
    for folder in ("/usr/bin", "/usr/local/bin"):
        for name in names:
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK):
                found.setdefault(os.path.realpath(path), path)
    return [path for path in found.values() if runs(path, CHECK)]


def resolve_shim(path: str) -> str:
    """A pyenv or asdf shim is a script: ask the interpreter behind it where it lives."""
    try:
        done = subprocess.run(
            [path, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return path
    return done.stdout.strip() or path


def runs(python: str, code: str) -> bool:
    try:
        return subprocess.run([python, "-c", code], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cpu_seconds(python: str) -> float:
    """CPU seconds of the workload on ``python``; infinite if it cannot run it."""
    try:
        done = subprocess.run(
            [python, "-c", WORKLOAD], capture_output=True, text=True, timeout=60, check=True
        )
        return float(done.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return float("inf")


def main() -> int:
    pythons = candidates()
    if not pythons:
        return 1
    if len(pythons) > 1:
        times: dict[str, list[float]] = {p: [] for p in pythons}
        for _ in range(ROUNDS):  # alternating, so a busy moment of a shared machine hits every candidate
            for python in pythons:
                times[python].append(cpu_seconds(python))
        pythons.sort(key=lambda p: statistics.median(times[p]))
        for python in pythons:
            print(f"pick_python: {python}: {statistics.median(times[python]) * 1000:.0f} ms", file=sys.stderr)
    print(pythons[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
