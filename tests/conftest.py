import gc
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Collection imports every test module and what it needs (~1,300 modules) and keeps nearly all of it:
# at CPython's default thresholds the collector went over that growing heap in four full collections
# per test process (~0.27 s of CPU each, in the seconds when every process is collecting).
# pytest_collection_finish freezes the result and keeps these thresholds for the tests.
GC_THRESHOLDS = (10_000, 20, 50)
gc.set_threshold(*GC_THRESHOLDS)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The CLI's results console is 120 columns wide on a pipe unless COLUMNS says otherwise; pytest-xdist's
# workers inherit COLUMNS=80 from execnet, so the same test would wrap differently under -n. The tests
# that need a width set it themselves.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def _hypothesis_profiles() -> None:
    """No per-example deadline: the machine is shared and a slow example is not a failing one. In CI, the
    same examples every run, so a red build is reproducible and never the luck of the draw."""
    from hypothesis import settings

    settings.register_profile("default", deadline=None)
    settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
    settings.load_profile("ci" if os.environ.get("CI") else "default")


def _share_httpx_ssl_contexts() -> None:
    """One SSL context for the tests' httpx clients with default verification, per trust setting.

    Each new ``httpx.Client`` or ``AsyncClient`` loads certifi's CA bundle into a context of its own
    (~26 ms of CPU), although nearly all of the ~100 a run makes talk plain HTTP to loopback. A context
    is shareable between clients; clients with ``verify=`` a context, a path or False, and a changed
    SSL_CERT_FILE or SSL_CERT_DIR, still get their own. Best effort: another httpx without this
    internal name is left alone."""
    import httpx._transports.default as transports

    create = getattr(transports, "create_ssl_context", None)
    if create is None:
        return
    shared: dict[tuple[bool, str | None, str | None], Any] = {}

    def create_shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return create(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in shared:
            shared[key] = create(verify=verify, cert=cert, trust_env=trust_env)
        return shared[key]

    transports.create_ssl_context = create_shared  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    """Set up the processes that run tests. The xdist controller runs none: importing Hypothesis and
    httpx there (~0.2 s) only delayed the start of every worker."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    _hypothesis_profiles()
    _share_httpx_ssl_contexts()


def pytest_collection_finish(session: object) -> None:
    """The modules and objects collection made live as long as the test process: out of the collector's
    sight, and fewer collections of what the tests allocate (as paritycheck's own helper processes do,
    common/gctune.py). The collector took 9% of a pytest process's CPU."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)  # again, should an import during collection have changed them


# One PostgreSQL server for all the xdist workers of a session (tests/pgserver.py): the controller names
# a folder for it in each worker's input and stops the server at the end. Each worker had started its
# own (~1 s of CPU and ~1.5 s of wall for initdb and start, four times per run).
_PG_FOLDER = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    from tests import pgserver

    config = node.config
    if _PG_FOLDER not in config.stash:
        folder = config.stash[_PG_FOLDER] = Path(tempfile.mkdtemp(prefix="paritycheck-pg-shared-"))
        folder.chmod(0o755)  # the server runs as postgres when the tests run as root
    node.workerinput[pgserver.SHARED] = str(config.stash[_PG_FOLDER])


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = session.config.stash.get(_PG_FOLDER, None)
    if folder is not None:  # the xdist controller, after its workers have finished
        from tests import pgserver

        pgserver.stop_shared(folder)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Chromium tests first, and together. xdist's work stealing hands each worker a contiguous share
    of this order and steals from the end of a worker's queue, so the tests at the front stay with the
    first worker, which launches Chromium once per module. Where collection put them, near the end, they
    were stolen by every worker at the end of the run, and each launched Chromium of its own (~2 s of
    CPU and ~5 s of wall each, in the run's last seconds)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is None)  # a stable sort
