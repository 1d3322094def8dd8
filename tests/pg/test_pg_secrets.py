"""``replay --workers`` into PostgreSQL: the DSN's password never shows in ``ps``, and no secret of issue 23
reaches the shared store."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from aiohttp import web
from click.testing import CliRunner

from paritycheck.cli import cli
from paritycheck.errors import ExitStatus
from paritycheck.store import Store
from tests.harutil import replay_args, write_har
from tests.secretcase import SECRETS, echo_app, har_entries, leaks
from tests.servers import serve


def _watching(app: web.Application, seen: list[str]) -> web.Application:
    """``app``, taking a ``ps`` listing while it answers: the workers are alive, waiting for it."""

    @web.middleware
    async def ps(request: web.Request, handler: Any) -> web.StreamResponse:
        if len(seen) < 2:  # one listing per worker is enough
            proc = await asyncio.create_subprocess_exec(
                "ps", "-ww", "-eo", "pid,args", stdout=asyncio.subprocess.PIPE
            )  # fmt: skip
            listing, _ = await proc.communicate()
            seen.append(listing.decode())
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(ps)
    return app


def test_workers_get_the_dsn_by_the_environment_and_store_no_secret(tmp_path: Path, pg_dsn: str) -> None:
    dsn = pg_dsn.replace("paritycheck@", f"paritycheck:{SECRETS['dsn password']}@")  # trust: any password
    har = write_har(tmp_path / "secrets.har", har_entries())
    listings: list[str] = []
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        with (
            serve(_watching(echo_app("legacy"), listings)) as legacy,
            serve(echo_app("candidate")) as candidate,
        ):
            result = CliRunner(env={"PARITYCHECK_DB": dsn}).invoke(
                cli, replay_args(har, legacy, candidate, "--allow-writes", "--workers", "2", "--no-report")
            )
    finally:
        os.chdir(old)
    assert result.exit_code == ExitStatus.DIFFERENCES, result.output
    workers = [line for listing in listings for line in listing.splitlines() if "--shard" in line]
    assert workers, listings  # the listing caught the workers at work
    assert leaks({f"ps {i}": listing for i, listing in enumerate(listings)}) == {}
    with Store.open(dsn, create=False) as store:
        run_id = store.latest_run_id()
        assert run_id is not None
        rows = list(store.exchanges(run_id))
        stored = "\n".join(repr(x) for x in rows) + repr(store.run(run_id))
        bodies = "\n".join(
            store.body(digest).decode("utf-8", "replace")
            for x in rows
            for side in (x.legacy, x.candidate)
            if side is not None
            for digest in (side.body,)
            if digest
        )
    assert len(rows) == len(har_entries())
    assert leaks({"store": stored, "bodies": bodies, "output": result.output}) == {}
