"""The report's rollout timeline (inline SVG) and cohorts section, as HTML and in headless Chromium."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from paritycheck.report import write_html
from paritycheck.store import Store
from tests.report.test_browser import Page
from tests.rollout.rollouthelpers import SEED, a_rollout, plan


@pytest.fixture(scope="module")
def rollout_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rollout-report")
    config = plan(folder, SEED.replace('min_duration = "24h"', 'min_duration = "2h"'))
    with Store.open(folder / "r.db") as store:
        a_rollout(store, config, now=dt.datetime.now(dt.UTC))
        return write_html(store, None, folder / "index.html")


def test_the_timeline_draws_steps_windows_criteria_and_verdicts(rollout_report: Path) -> None:
    html = rollout_report.read_text(encoding="utf-8")
    svg = re.search(r'<svg id="rollout-timeline".*?</svg>', html, re.S)
    assert svg is not None
    text = svg.group()
    assert re.findall(r'<rect class="band band\d" data-step="(\d)"', text) == ["1", "2"]
    assert ">1 · 10%<" in text and ">2 · 25%<" in text
    # 5 windows: parity, p95 ratio, and two error rates each.
    assert len(re.findall(r'<circle class="d-(?:par|ratio|lg|cd)"', text)) == 5 * 4
    # Each step's criteria: min_parity and max_p95_ratio ([gate]'s for step 1); max_error_rate for step 1.
    assert re.findall(r'data-criterion="max_error_rate" data-step="(\d)"', text) == ["1"]
    assert len(re.findall(r'data-criterion="min_parity"', text)) == 2
    assert re.findall(r'data-decision="(\w+)"', text) == ["advance", "rollback"]
    assert "ROLL BACK at step 2 (25%)" in html
    assert "http" not in text.replace('xmlns="http', "")  # nothing to fetch


def test_no_rollout_no_section(demo_store: Store, tmp_path: Path) -> None:
    html = write_html(demo_store, None, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="rollout"' not in html


@pytest.mark.browser
def test_the_timeline_renders_in_chromium(browser: Any, rollout_report: Path) -> None:
    page = Page(browser, rollout_report)
    try:
        assert page.errors == [] and [c for c in page.console if c.startswith("error")] == []
        assert page.requests == [rollout_report.as_uri()]
        svg = page.page.locator("#rollout-timeline")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 800 and box["height"] > 300
        # Every window's point lies inside the plot, and inside its own step's band.
        bands = [page.page.locator(f'rect.band[data-step="{n}"]').bounding_box() for n in (1, 2)]
        dots = page.page.locator("circle.d-cd").evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y]; })"
        )
        assert len(dots) == 5
        assert all(b is not None for b in bands)
        inside = [[b["x"] <= x <= b["x"] + b["width"] for b in bands if b] for x, _ in dots]
        assert inside == [[True, False]] * 3 + [[False, True]] * 2
        # The failing window's candidate error rate is drawn above its step's criterion line... of step 1
        # there is none in step 2, so it is above the others: the highest point of the panel.
        ys = [y for _, y in dots]
        assert ys[-1] == min(ys)
        title = page.page.locator('path.mark[data-decision="rollback"] title').text_content() or ""
        assert title.startswith("ROLL BACK at step 2")
    finally:
        page.page.close()
