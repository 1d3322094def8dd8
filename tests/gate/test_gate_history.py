"""Run history: figures per run, new / flaky / gone findings (by signature), recorded gate verdicts."""

from __future__ import annotations

from pathlib import Path

from gatehelpers import add_run, counts, open_store, outcome, timed
from rich.console import Console

from paritycheck.config import GateConfig
from paritycheck.gate import evaluate, record
from paritycheck.gate.history import history
from paritycheck.models import Difference, Status
from paritycheck.report import print_history

A = Difference("changed", "$.a", 1, 2)
B = Difference("added", "$.b", None, 1)
C = Difference("removed", "$.c", 1, None)


def run_with(store, *diffs: Difference) -> int:  # type: ignore[no-untyped-def]
    outcomes = counts("GET /x", matched=10) + [
        outcome("GET /x", Status.MISMATCHED, diffs=(d,)) for d in diffs
    ]
    return add_run(store, outcomes)


def key(d: Difference) -> str:
    """The signature of the finding the difference is (paritycheck.findings): kind and field."""
    return f"{d.kind} *.{d.path.removeprefix('$.')}"


def test_new_flaky_and_gone(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        # A is always there; B appears in run 2 only; C comes, goes, and comes back (flaky).
        for diffs in ((A, C), (A, B), (A, C), (A, C)):
            run_with(store, *diffs)
        rows = history(store)
    assert [r.run_id for r in rows] == [1, 2, 3, 4]
    assert [r.new for r in rows] == [(), (key(B),), (), ()]
    assert [r.flaky for r in rows] == [(), (), (key(C),), (key(C),)]
    assert [r.gone for r in rows] == [(), (key(C),), (key(B),), ()]
    assert rows[0].groups == 2 and rows[0].parity == 10 / 12 * 100
    new = rows[1].to_json()["new"]
    assert new == [
        {"signature": "added *.b", "risk": "additive", "title": "`b`: absent on legacy, present on candidate"}
    ]


def test_a_finding_keeps_its_key_across_endpoints(tmp_path: Path) -> None:
    """History keys on findings: the same root cause moving to another endpoint is not new."""
    with open_store(tmp_path) as store:
        add_run(store, [*counts("GET /x", matched=5), outcome("GET /x", Status.MISMATCHED, diffs=(B,))])
        add_run(store, [*counts("GET /y", matched=5), outcome("GET /y", Status.MISMATCHED, diffs=(B,))])
        rows = history(store)
    assert rows[1].new == () and rows[1].gone == () and rows[1].groups == 1


def test_limit_shortens_the_list_but_not_the_memory(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        for diffs in ((C,), (), (C,)):
            run_with(store, *diffs)
        (last,) = history(store, limit=1)
    assert last.run_id == 3 and last.flaky == (key(C),) and last.new == ()


def test_p95_ratios_and_gate_verdicts(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        first = add_run(
            store, timed("GET /slow", [100.0] * 40, [150.0] * 40) + timed("GET /few", [1.0] * 3, [9.0] * 3)
        )
        record(store, evaluate(store, first, GateConfig()))
        add_run(store, timed("GET /slow", [100.0] * 40, [100.0] * 40))
        rows = history(store, min_samples=30)
        console = Console(width=200, color_system=None, record=True)
        print_history(rows, console)
    assert rows[0].p95_ratios == {"GET /slow": 1.5}  # /few has too few samples
    assert rows[0].worst_p95_ratio == ("GET /slow", 1.5)
    assert (rows[0].gate, rows[1].gate) == ("fail", None)
    assert rows[1].to_json()["p95_ratios"] == {"GET /slow": 1.0}
    text = console.export_text()
    assert "1.500× GET /slow" in text and "fail" in text


def test_a_difference_that_comes_and_goes_with_the_rules_is_not_flaky(tmp_path: Path) -> None:
    strict, lenient = (
        {"normalise": {"null_equals_missing": False}},
        {"normalise": {"null_equals_missing": True}},
    )
    with open_store(tmp_path) as store:
        outcomes = [*counts("GET /x", matched=10), outcome("GET /x", Status.MISMATCHED, diffs=(C,))]
        add_run(store, outcomes, config=strict)
        add_run(store, counts("GET /x", matched=11), config=lenient)  # the rules hid C
        add_run(store, outcomes, config=strict)  # back to the strict rules: C is there again
        rows = history(store)
    assert [r.flaky for r in rows] == [(), (), ()]
    assert rows[1].gone == () and "rules changed" in rows[1].note
    assert rows[2].rules == rows[0].rules != rows[1].rules and "like run 1" in rows[2].note


def test_a_run_where_a_backend_answered_nothing_is_not_a_baseline(tmp_path: Path) -> None:
    dead = [outcome("GET /x", Status.FAILED) for _ in range(11)]
    with open_store(tmp_path) as store:
        run_with(store, A, C)
        add_run(store, dead)  # the candidate was down: every exchange failed
        run_with(store, A, C)
        rows = history(store)
    assert not rows[1].baseline and "answered nothing" in rows[1].note
    assert rows[1].gone == () and rows[2].gone == () and rows[2].new == () and rows[2].flaky == ()


def test_failed_runs_are_no_baseline(tmp_path: Path) -> None:
    """A run whose candidate answered nothing, or that did not finish, shows too few differences: the
    next runs compare with the baseline before it, so nothing is reported gone or flaky because of it."""
    with open_store(tmp_path) as store:
        run_with(store, A, C)
        add_run(store, counts("GET /x", failed=12))  # complete, but the candidate answered nothing
        add_run(
            store,
            [*counts("GET /x", matched=3), outcome("GET /x", Status.MISMATCHED, diffs=(A,))],
            status="interrupted",
        )
        run_with(store, A, C)
        rows = history(store)
        from paritycheck.gate import baseline_before

        assert baseline_before(store, 4) == 1
    assert [r.baseline for r in rows] == [True, False, False, True]
    assert [r.gone for r in rows] == [(), (), (), ()]
    assert [r.flaky for r in rows] == [(), (), (), ()]
    assert [r.new for r in rows] == [(), (), (), ()]
    assert rows[1].to_json()["baseline"] is False


def capture(name: str) -> list[dict[str, str]]:
    return [{"name": f"{name}.har", "digest": name * 16}]


def test_runs_of_other_captures_are_not_compared(tmp_path: Path) -> None:
    """Like with like (issue 21.6): a run of another capture is neither the "before" of history nor the
    report's previous run, and the report says that no comparable run exists."""
    with open_store(tmp_path) as store:
        nightly = [*counts("GET /x", matched=10), outcome("GET /x", Status.MISMATCHED, diffs=(A,))]
        add_run(store, [*nightly, outcome("GET /x", Status.MISMATCHED, diffs=(C,))], captures=capture("a"))
        add_run(store, counts("GET /x", matched=3), captures=capture("b"))  # another capture: no C there
        add_run(store, nightly, captures=capture("a"))
        add_run(store, nightly, captures=capture("a")[::-1], config={"replay": {"include": ["GET /x"]}})
        rows = history(store)
        from paritycheck.gate import baseline_before, comparable_before

        assert baseline_before(store, 2) is None and baseline_before(store, 3) == 1
        first, why = comparable_before(store, 2)
        assert first is None and why == "no comparable run: of 1 earlier, 1 replayed other captures"
        assert comparable_before(store, 1) == (None, "none in this database")
        assert comparable_before(store, 4)[0] is None  # the same capture, but only part of it replayed
    assert rows[1].gone == () and "captures changed since the run before" in rows[1].note
    assert rows[2].gone == (key(C),) and "like run 1" in rows[2].note
    assert rows[0].traffic == rows[2].traffic != rows[1].traffic != rows[3].traffic
    assert rows[2].to_json()["captures"] == rows[0].traffic


def test_captures_compare_as_a_set_and_windows_by_their_listener(tmp_path: Path) -> None:
    two = [{"name": "a.har", "digest": "a" * 16}, {"name": "b.har", "digest": "b" * 16}]
    proxy, mirror = "live proxy 127.0.0.1:8080", "live mirror 127.0.0.1:9090"
    windows = (
        [{"name": f"{proxy} window from 2026-01-01T00:00:00+00:00"}],  # an older window: read from its name
        [{"name": f"{proxy} window from 2026-01-01T00:01:00+00:00", "live": proxy}],
        [{"name": f"{mirror} window from 2026-01-01T00:02:00+00:00", "live": mirror}],
    )
    with open_store(tmp_path) as store:
        for captures in (two, two[::-1], *windows):
            add_run(store, counts("GET /x", matched=2), captures=captures)
        from paritycheck.gate import baseline_before

        assert [baseline_before(store, i) for i in (2, 4, 5)] == [1, 3, None]


def test_a_setting_added_by_a_later_version_keeps_old_runs_comparable(tmp_path: Path) -> None:
    from paritycheck.gate.lineage import rules_hash

    older = {"normalise": {"key_case": "snake"}}  # stored before the other settings existed
    newer = {"normalise": {"key_case": "snake", "null_equals_missing": False}}  # the default, stored
    assert rules_hash(older) == rules_hash(newer) != rules_hash({"normalise": {"key_case": "camel"}})
    assert rules_hash({}) == rules_hash({"normalise": {}, "endpoint": []})
