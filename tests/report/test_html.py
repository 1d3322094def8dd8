"""The HTML report as a file: self-contained, escaped, redacted, bounded."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paritycheck.report import html, html_exchange, model
from paritycheck.store import Store
from tests.report.reportdata import SECRET


def _render(store: Store, **kwargs: int) -> str:
    return html.render_html(model.build(store), **kwargs)


def test_write_html_creates_the_folder(demo_store: Store, tmp_path: Path) -> None:
    out = html.write_html(demo_store, None, tmp_path / "deep" / "index.html")
    assert out.is_file() and out.read_text().startswith("<!DOCTYPE html>")


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_nothing_is_loaded_from_elsewhere(demo_store: Store) -> None:
    page = _render(demo_store)
    tags = _tags(page)
    names = {t for t, _ in tags}
    assert not names & {
        "link",
        "iframe",
        "object",
        "embed",
        "img",
        "audio",
        "video",
        "source",
        "base",
        "form",
    }
    for tag, attrs in tags:
        assert not {"src", "srcset", "action", "formaction", "xlink:href", "style"} & set(attrs), tag
        assert not any(k.startswith("on") for k in attrs), tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#")
    assert "url(" not in re.findall(r"<style>(.*?)</style>", page, re.S)[0]


def test_csp_allows_only_the_inline_style_and_script(demo_store: Store) -> None:
    page = _render(demo_store)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    for body in (scripts[0], styles[0]):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert " style=" not in page  # style attributes would be blocked by the hash-only style-src


def test_backend_values_render_as_text(demo_store: Store) -> None:
    page = _render(demo_store)
    assert [t for t, _ in _tags(page)].count("script") == 1
    assert "<img" not in page and "</textarea>" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "javascript:alert(2)" in page  # as text only: no href carries it
    assert "{{ 7*7 }}" in page


def test_secrets_stay_redacted(demo_store: Store) -> None:
    page = _render(demo_store)
    assert SECRET not in page
    assert "[redacted: " in page


def test_every_group_is_shown_with_its_examples(demo_store: Store) -> None:
    report = model.build(demo_store)
    page = html.render_html(report)
    for group in report.groups:
        assert f"<code>{html_exchange.esc(group.path)}</code>" in page
        for example in group.examples:
            assert f'<div class="slot" data-x="{example.id}"></div>' in page
    unique = {x.id for g in report.groups for x in g.examples}
    # Each example exchange is embedded once, however many groups it illustrates.
    assert page.count('class="example"') == len(unique) == page.count("<template ")
    for xid in unique:
        assert page.count(f'<template id="x-{xid}">') == 1
    assert page.count("raw responses") == len(unique)


def test_size_budget_leaves_examples_out_and_says_so(demo_store: Store) -> None:
    full = _render(demo_store)
    small = _render(demo_store, budget=1)
    assert len(small) < len(full)
    assert small.count('class="example"') < full.count('class="example"')
    assert "not embed all their examples" in small


def test_previous_run_comparison_is_shown(demo_store: Store) -> None:
    page = _render(demo_store)
    run_id = demo_store.latest_run_id()
    assert f"vs run {run_id - 1}" in page


_TAG = re.compile(r'<span class="m">|</span>')


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    ),
    st.sets(st.text()),
)
def test_json_view_escapes_everything(value: object, marked: set[str]) -> None:
    text = _TAG.sub("", html_exchange.json_html(value, marked | {"$"}))
    assert "<" not in text and ">" not in text


def test_gate_figure_only_when_recorded(demo_store: Store) -> None:
    assert 'data-fig="gate"' not in _render(demo_store)
    run_id = demo_store.latest_run_id()
    demo_store.update_meta(run_id, {"gate": {"verdict": "fail", "failed": ["parity", "p95 ratio (GET <x>)"]}})
    page = _render(demo_store)
    fig = re.search(r'<div class="fig fail" data-fig="gate">.*?</div></div>', page, re.S)
    assert fig is not None and ">FAIL<" in fig.group(0) and "2 criteria failed" in fig.group(0)
    assert "p95 ratio (GET &lt;x&gt;)" in page and "GET <x>" not in page
    demo_store.update_meta(run_id, {"gate": {"verdict": "pass", "failed": []}})
    assert re.search(r'<div class="fig pass" data-fig="gate"><div class="v">PASS<', _render(demo_store))


def test_a_capture_shows_its_digest_and_a_live_window_its_name_only(tmp_path: Path) -> None:
    from tests.report.reportdata import demo_outcomes, write_run

    with Store.open(tmp_path / "r.db") as store:
        replayed = write_run(store, list(demo_outcomes(4)))
        window = store.start_run(
            tool_version="0.1.0", config={}, backends={"legacy": "http://l", "candidate": "http://c"},
            captures=[{"name": "proxy window from 2026-01-01T10:00:00+00:00"}],
        )  # fmt: skip
        store.finish_run(window, status="complete")
        page = html.render_html(model.build(store, replayed))
        live = html.render_html(model.build(store, window))
    assert 'captures/demo.har</span> <span class="muted mono">sha256:abababababab</span>' in page
    assert "proxy window from 2026-01-01T10:00:00+00:00" in live and "sha256:" not in live
