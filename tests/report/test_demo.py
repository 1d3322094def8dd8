"""The bundled demo's report: every seeded difference is shown, traceable to two raw responses."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from paritycheck import samples
from paritycheck.config import Config, load
from paritycheck.report import html, html_exchange, model
from paritycheck.run import runner
from paritycheck.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def demo_db(tmp_path: Path) -> Path:
    if not (ROOT / "captures" / "auth.har").is_file():
        pytest.skip("the demo capture captures/auth.har is missing")
    config: Config = load(ROOT / "paritycheck.toml")
    served = await samples.start()
    try:
        backends = dataclasses.replace(
            config.backends,
            legacy=dataclasses.replace(config.backends.legacy, url=served.legacy_url),
            candidate=dataclasses.replace(config.backends.candidate, url=served.candidate_url),
        )
        db = tmp_path / "results.db"
        await runner.replay_captures(
            dataclasses.replace(config, backends=backends), [ROOT / "captures" / "auth.har"], db=db
        )
    finally:
        await served.close()
    return db


def test_every_difference_is_shown_with_two_raw_responses(demo_db: Path) -> None:
    with Store.open(demo_db, create=False) as store:
        report = model.build(store, max_groups=10_000)
        stored = store.difference_groups(report.run.id)
    page = html.render_html(report)
    assert stored, "the demo should have seeded differences"
    for stored_group in stored:
        assert f'data-path="{html_exchange.esc(stored_group.path)}"' in page
    for group in report.groups:
        assert group.examples, f"{group.endpoint} {group.path} has no example"
        for x in group.examples:
            template = re.search(rf'<template id="x-{x.id}">(.*?)</template>', page, re.S)
            assert template is not None
            assert template.group(1).count("HTTP ") == 2  # the raw legacy and candidate answers


def test_the_slow_endpoint_is_visibly_slower(demo_db: Path) -> None:
    with Store.open(demo_db, create=False) as store:
        report = model.build(store)
    (e,) = [e for e in report.endpoints if e.endpoint == "GET /api/v1/reports/summary"]
    assert e.slower
    # Its candidate curve lies right of (slower than) the legacy one at every quantile from p50 on.
    half = len(model.CURVE_POINTS) // 2
    assert all(c > lg for c, lg in zip(e.candidate_curve[half:], e.legacy_curve[half:], strict=True))
    assert 'class="plot slow"' in html.render_html(report)
