"""The shared report model: built from a store written through its API."""

from __future__ import annotations

from paritycheck.models import Status
from paritycheck.report import model, render_html, render_markdown
from paritycheck.store import Store
from tests.report.reportdata import demo_outcomes, outcome, write_run


def test_verdict_counts_and_previous_run(demo_store: Store) -> None:
    report = model.build(demo_store)
    assert report.run.id == demo_store.latest_run_id()
    assert report.verdict == "not at parity"
    s = report.summary
    assert s.total == s.matched + s.mismatched + s.failed + s.skipped
    assert report.previous is not None
    assert report.previous.run_id == report.run.id - 1
    assert report.previous.parity == 100.0
    assert report.parity is not None and report.parity < report.previous.parity


def test_no_comparable_previous_run_is_said(demo_store: Store) -> None:
    """Like with like (issue 21.6): a run of another capture has no "vs run N", and says why."""
    assert model.build(demo_store, demo_store.latest_run_id() - 1).previous_note == "none in this database"
    other = write_run(demo_store, demo_outcomes(), digest="cd" * 32)
    report = model.build(demo_store, other)
    assert report.previous is None
    assert report.previous_note == "no comparable run: of 2 earlier, 2 replayed other captures"
    assert "vs run" not in render_html(report) and report.previous_note in render_html(report)
    assert "(no comparable earlier run)" in render_markdown(report)
    again = write_run(demo_store, [outcome(i, "GET /users/{id}", Status.MATCHED) for i in range(5)])
    previous = model.build(demo_store, again).previous
    assert previous is not None and previous.run_id == other - 1  # the last run of the demo capture


def test_examples_are_bounded_and_belong_to_their_group(demo_store: Store) -> None:
    report = model.build(demo_store, max_examples=2)
    assert report.groups
    for group in report.groups:
        assert 0 < len(group.examples) <= 2
        for example in group.examples:
            assert any(d.kind == group.kind and d.path == group.path for d in example.differences)
            assert example.legacy is not None and example.candidate is not None
            assert example.legacy.body is not None and example.candidate.body is not None


def test_no_examples_past_max_groups(demo_store: Store) -> None:
    report = model.build(demo_store, max_groups=1)
    assert [bool(g.examples) for g in report.groups] == [True] + [False] * (len(report.groups) - 1)
    assert report.groups_without_examples == len(report.groups) - 1
    assert all(not g.examples for g in model.build(demo_store, max_examples=0).groups)


def test_slower_endpoint_and_curves(demo_store: Store) -> None:
    report = model.build(demo_store)
    slower = {e.endpoint for e in report.slower_endpoints}
    assert slower == {"GET /reports/summary"}
    for e in report.endpoints:
        for c in (e.legacy_curve, e.candidate_curve):
            assert list(c) == sorted(c)
            assert len(c) in (0, len(model.CURVE_POINTS))


def test_only_what_the_gate_would_judge_is_slower(demo_store: Store) -> None:
    """Ten times slower on 40 pairs is slower, with an interval above 1; on 8 pairs it is not judged
    (issue 21: "1.49x slower" painted red on 8 pairs, where the gate says "not judged")."""
    from tests.report.reportdata import outcome, write_run

    few = [outcome(i, "GET /few", Status.MATCHED, legacy_ms=10, candidate_ms=100 + i) for i in range(8)]
    run_id = write_run(demo_store, [*few, *list(demo_outcomes())])
    report = model.build(demo_store, run_id)
    rows = {e.endpoint: e for e in report.endpoints}
    judged, small = rows["GET /reports/summary"], rows["GET /few"]
    assert judged.judged and judged.interval is not None and judged.interval[0] > 1 and judged.slower
    assert small.ratio is not None and small.ratio > 9 and not small.judged and not small.slower
    assert rows["GET /orders/{id}"].judged and rows["GET /orders/{id}"].interval is None  # not worth it
    assert report.min_samples == 30


def test_failed_and_skipped_reasons(demo_store: Store) -> None:
    report = model.build(demo_store)
    assert [(r.endpoint, r.count) for r in report.failures] == [("GET /health", 1)]
    assert "allow-writes" in report.skips[0].reason


def test_normalised_view_uses_the_run_rules(tmp_path: object) -> None:
    rules = model.rules_for({"normalise": {"key_case": "snake", "envelope": "auto"}}, "GET /x")
    assert rules is not None
    assert rules.apply({"success": True, "data": {"userId": 1}}) == {"user_id": 1}
    assert model.rules_for({"normalise": {"key_case": "klingon"}}, "GET /x") is None


def test_make_body() -> None:
    body = model.make_body(b'{"a": [1, 2]}', "application/json", limit=100)
    assert body.is_json and body.value == {"a": [1, 2]} and not body.cut
    cut = model.make_body(b"x" * 50, "text/plain", limit=10)
    assert cut.cut and cut.text == "x" * 10 and cut.size == 50 and not cut.is_json
    binary = model.make_body(bytes(range(256)), "application/octet-stream", limit=1000)
    assert binary.binary and binary.text == ""
    # A multi-byte character split by the cut is not binary.
    assert not model.make_body("é".encode() * 20, None, limit=9).binary
