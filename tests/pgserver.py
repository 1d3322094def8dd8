"""A real PostgreSQL server for the tests: Debian's binaries, a temporary data directory, a free port.

Under pytest-xdist the test processes share one server (:func:`shared_server`): the first that needs it
starts it in a folder the controller names (tests/conftest.py), the others find it there, and the
controller stops it when the session ends. Every test gets a database of its own on it.

initdb refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``). Where
PostgreSQL is not installed the tests that need it skip with the reason; under ``CI=true`` they fail
instead, so CI can never pass without having run them.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running server; :meth:`database` makes a fresh empty database and returns its DSN."""

    def __init__(
        self, bindir: Path, workdir: Path, *, durable: bool = False, port: int | None = None
    ) -> None:
        self.durable = durable  # fsync on, as in production (the benchmarks); off for the tests
        self.bindir, self.workdir = bindir, workdir
        self.port = port or _free_port()
        self.data = workdir / "data"
        self._runas: list[str] = []
        if os.geteuid() == 0:
            self._runas = ["runuser", "-u", "postgres", "--"]
            shutil.chown(workdir, "postgres")
        self._count = 0

    def _run(self, *args: str) -> None:
        subprocess.run([*self._runas, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "paritycheck",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.restart()

    def restart(self) -> None:
        """Start the server on its data directory and port (again, after :meth:`stop`)."""
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.workdir / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            [*self._runas, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://paritycheck@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        import psycopg

        self._count += 1
        name = f"t{os.getpid()}_{self._count}"  # unique among the processes that share the server
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)


def unavailable_reason() -> str | None:
    if _bindir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser, and initdb refuses root"
    return None


def _require() -> Path:
    """The binaries' folder; skips (fails under ``CI=true``) where PostgreSQL cannot run."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the PostgreSQL tests cannot run: {reason}")
        pytest.skip(reason)
    bindir = _bindir()
    assert bindir is not None
    return bindir


@contextmanager
def running_server(prefix: str = "paritycheck-pg-") -> Iterator[PostgresServer]:
    """A server of its own in a temporary folder, removed after; skips (fails under ``CI=true``) where
    PostgreSQL cannot run."""
    bindir = _require()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(workdir, 0o755)
    server = PostgresServer(bindir, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


#: The key of :func:`shared_server`'s folder in an xdist worker's ``workerinput``.
SHARED = "paritycheck_pg_folder"


def shared_server(folder: Path) -> PostgresServer:
    """The server in ``folder``, which the test processes of one session share: the first to ask starts
    it (initdb and start, ~1 s of CPU and ~1.5 s of wall each time), the others attach to it.
    :func:`stop_shared` stops it."""
    bindir = _require()
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        info = folder / "server.json"
        if info.exists():
            return PostgresServer(bindir, folder / "pg", port=json.loads(info.read_text())["port"])
        workdir = folder / "pg"
        workdir.mkdir(mode=0o755, exist_ok=True)
        server = PostgresServer(bindir, workdir)
        server.start()
        info.write_text(json.dumps({"port": server.port}))
        return server


def stop_shared(folder: Path) -> None:
    """Stop the server of :func:`shared_server` if one was started in ``folder``, and remove the folder."""
    info, bindir = folder / "server.json", _bindir()
    if info.exists() and bindir is not None:
        PostgresServer(bindir, folder / "pg", port=json.loads(info.read_text())["port"]).stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """The session's server: shared by the xdist workers, or this process's own without xdist."""
    folder = getattr(request.config, "workerinput", {}).get(SHARED)
    if folder is not None:
        yield shared_server(Path(folder))
        return
    with running_server() as server:
        yield server


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.database()
