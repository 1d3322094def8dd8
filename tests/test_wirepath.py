"""Issue 12.7: each difference keeps its normalised path and each side's path as on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paritycheck.compare import Comparator, Rules
from paritycheck.compare.wirepath import wire_path
from paritycheck.config import NormaliseConfig
from paritycheck.models import Difference, Reply, Status
from paritycheck.report import model
from paritycheck.report.html import render_html
from paritycheck.store import Store
from tests.report.reportdata import outcome, write_run

RULES = Rules.from_config(NormaliseConfig())
JSON = (("content-type", "application/json"),)


def _reply(doc: Any) -> Reply:
    return Reply(422, JSON, json.dumps(doc).encode())


def test_wire_paths_undo_envelopes_and_key_case() -> None:
    assert wire_path(RULES, {"errors": {"body": ["blank"]}}, "$.error.body[0]") == "$.errors.body[0]"
    assert wire_path(RULES, {"success": True, "data": {"articlesCount": 3}}, "$.articles_count") == (
        "$.data.articlesCount"
    )
    assert wire_path(RULES, {"articles_count": 3}, "$.articles_count") == "$.articles_count"
    assert wire_path(RULES, {"a": [{"userID": 1}]}, "$.a[0].user_id") == "$.a[0].userID"
    assert wire_path(RULES, {}, "$.missing.deeper") == "$.missing.deeper"  # a side without the member
    assert wire_path(RULES, {"x": 1}, "header:etag") == "header:etag"


def test_a_renamed_envelope_difference_keeps_both_wire_paths() -> None:
    found = Comparator(NormaliseConfig()).compare(
        "POST /api/users",
        _reply({"errors": {"body": ["can't be blank"]}}),
        _reply({"error": {"body": ["blank"]}}),
    )
    assert found == (
        Difference("changed", "$.error.body[0]", "can't be blank", "blank", legacy_path="$.errors.body[0]"),
    )


def test_the_store_keeps_wire_paths_and_the_html_shows_them(tmp_path: Path) -> None:
    d = Difference(
        "changed", "$.error.body", 1, 2, legacy_path="$.errors.body", candidate_path="$.Error.body"
    )
    plain = Difference("changed", "$.n", 1, 2)
    with Store.open(tmp_path / "r.db") as store:
        run_id = write_run(store, [outcome(0, "POST /u", Status.MISMATCHED, differences=(d, plain))])
        [x] = store.exchanges(run_id)
        assert x.differences == (d, plain)
        report = model.build(store, run_id)
    html = render_html(report)
    assert "on the wire: legacy <code>$.errors.body</code>, candidate <code>$.Error.body</code>" in html


def test_every_report_shows_a_groups_wire_path_where_a_key_was_renamed(tmp_path: Path) -> None:
    """The envelope rule reads the candidate's ``errors`` as ``error``: the reader sees where it was sent."""
    import io

    from rich.console import Console

    from paritycheck.gate import summarise
    from paritycheck.report.junit import render_junit
    from paritycheck.report.markdown import render_markdown
    from paritycheck.report.terminal import print_summary

    renamed = Difference("added", "$.error.title", None, ["blank"], candidate_path="$.errors.title")
    camel = Difference("changed", "$.invite_token", "", "x", legacy_path="$.data.inviteToken")
    with Store.open(tmp_path / "r.db") as store:
        run_id = write_run(store, [outcome(0, "POST /t", Status.MISMATCHED, differences=(renamed, camel))])
        summary = summarise(store, run_id)
        report = model.build(store, run_id)
    wire = {d["path"]: d.get("wire") for e in summary.to_json()["endpoints"] for d in e["differences"]}
    # the side without the key of an added difference has no wire path to show
    assert wire == {
        "$.error.title": {"candidate": "$.errors.title"},
        "$.invite_token": {"legacy": "$.data.inviteToken"},
    }
    buffer = io.StringIO()
    print_summary(summary, out=Console(file=buffer, width=200, color_system=None))
    assert "$.error.title (on the wire: candidate $.errors.title)" in buffer.getvalue()
    assert "candidate on the wire `$.errors.title`" in render_markdown(report)
    assert "(on the wire: candidate $.errors.title)" in render_junit(report)
    assert "candidate on the wire <code>$.errors.title</code>" in render_html(report)
