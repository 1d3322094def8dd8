"""Clustering differences into findings: each rule of the signature, the consequences of a status
change, renames, stream counts, determinism, exchange counts, and what is stored with a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paritycheck import findings
from paritycheck.compare import ACCEPTS_REFUSED, BREAKING, SERVER_ERROR
from paritycheck.models import Difference, Outcome
from paritycheck.store import NoisePath, Store
from tests.findings.findhelpers import exchange, matched, run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "f.db") as s:
        yield s


def found(store: Store, outcomes: list[Outcome]) -> findings.Findings:
    return findings.of_run(store, run(store, outcomes))


def by_signature(f: findings.Findings) -> dict[str, findings.Finding]:
    return {x.signature: x for x in f}


def test_a_refusal_takes_the_body_differences_of_its_exchanges_as_detail(store: Store) -> None:
    bodies = (
        Difference("removed", "$.error", {"code": "KPI_NOT_FOUND"}, None),
        Difference("added", "$.detail", None, "x"),
    )
    f = found(store, [exchange("GET /kpis/{id}", *bodies, legacy_status=404, candidate_status=400)])
    (only,) = f.items
    assert only.signature == "status 404→400" and only.exchanges == 1 and only.differences == 3
    assert [(m.kind, m.path) for m in only.consequences] == [("removed", "$.error"), ("added", "$.detail")]
    assert "come with it" in only.why and "$.error" in only.why


def test_two_success_answers_keep_their_body_differences_apart(store: Store) -> None:
    """200 -> 201 on a create: both are answers to compare, so a removed field stays a finding."""
    removed = Difference("removed", "$.user.email", "a@b.c", None)
    f = by_signature(
        found(store, [exchange("POST /users", removed, legacy_status=200, candidate_status=201)])
    )
    assert set(f) == {"status 200→201", "removed *.email"}
    assert not f["status 200→201"].consequences and f["removed *.email"].grade == BREAKING


def test_a_write_refused_by_a_crash_and_performed_is_accepts_refused(store: Store) -> None:
    f = by_signature(
        found(
            store,
            [
                exchange("DELETE /comments/{id}", legacy_status=500, candidate_status=204),
                exchange("GET /comments/{id}", legacy_status=500, candidate_status=200),
                exchange("GET /things", legacy_status=200, candidate_status=503),
            ],
        )
    )
    assert f["status 500→204 on a write"].grade == ACCEPTS_REFUSED
    assert f["status 500→200"].grade == BREAKING  # a read the legacy crashed on: not a refusal
    assert f["status 200→503"].grade == SERVER_ERROR


def test_riskiest_first(store: Store) -> None:
    outcomes = [exchange("GET /a", Difference("added", "$.x", None, 1)) for _ in range(9)]
    outcomes += [exchange("GET /b", Difference("changed", "$.y", 1, 2)) for _ in range(8)]
    outcomes += [exchange("GET /c", Difference("type", "$.z", 1, "1")) for _ in range(7)]
    outcomes += [exchange("GET /d", legacy_status=200, candidate_status=500)]
    outcomes += [exchange("DELETE /e", legacy_status=401, candidate_status=204)]
    f = found(store, outcomes)
    assert [x.grade for x in f] == ["accepts-refused", "server-error", "breaking", "behavioural", "additive"]


def test_an_absence_convention_is_one_finding_whatever_the_field(store: Store) -> None:
    f = by_signature(
        found(
            store,
            [
                exchange("GET /goals", Difference("removed", "$.items[0].completed_at", None, None)),
                exchange("GET /kpis/{id}", Difference("removed", "$.description", None, None)),
                exchange("GET /users/{id}", Difference("removed", "$.team", 7, None)),  # a value: not absence
            ],
        )
    )
    assert set(f) == {"removed null", "removed *.team"}
    nulls = f["removed null"]
    assert nulls.title == "`completed_at` and `description`: null on legacy, absent on candidate"
    assert nulls.endpoints == ("GET /goals", "GET /kpis/{id}") and "whatever the field" in nulls.why


def test_a_field_is_one_finding_wherever_it_is_embedded(store: Store) -> None:
    f = found(
        store,
        [
            exchange("GET /articles/{slug}", Difference("removed", "$.article.author.email", "a@x", None)),
            exchange("GET /articles", Difference("removed", "$.articles[3].author.email", "b@x", None)),
            exchange(
                "GET /articles/{slug}/comments",
                Difference("removed", "$.comments[0].author.email", "c", None),
            ),
        ],
    )
    (only,) = f.items
    assert only.signature == "removed *.email" and len(only.endpoints) == 3 and only.exchanges == 3
    assert {m.path for m in only.members} == {
        "$.article.author.email",
        "$.articles[*].author.email",
        "$.comments[*].author.email",
    }


def test_a_rename_is_one_finding_only_with_the_same_value_in_the_same_exchanges(store: Store) -> None:
    rename = (
        Difference("removed", "$.events[0].data.user", "ana", None),
        Difference("added", "$.events[0].data.username", None, "ana"),
    )
    (only,) = found(store, [exchange("GET /hubs/chat", *rename)]).items
    assert only.signature == "renamed user→username" and only.grade == BREAKING
    assert only.title == "`user` renamed `username` on candidate"
    different = (
        Difference("removed", "$.data.user", "ana", None),
        Difference("added", "$.data.username", None, "bob"),
    )
    assert {x.signature for x in found(store, [exchange("GET /x", *different)])} == {
        "removed *.user",
        "added *.username",
    }


def test_a_stream_event_count_follows_its_events(store: Store) -> None:
    diffs = (
        Difference("event-missing", "$.events[2]", {"event": "goal.completed"}, None),
        Difference("changed", "$.count", 4, 3),
    )
    (only,) = found(store, [exchange("GET /activity/stream", *diffs)]).items
    assert only.signature == "event-missing *.events[*]" and only.grade == BREAKING
    assert [m.path for m in only.consequences] == ["$.count"]


def test_error_bodies_of_the_same_refusal_are_one_finding(store: Store) -> None:
    def not_found(endpoint: str, key: str) -> Outcome:
        diffs = (
            Difference("removed", f"$.error.{key}", ["not found"], None),
            Difference("added", "$.detail", None, "Not found."),
        )
        return exchange(endpoint, *diffs, legacy_status=404, candidate_status=404)

    f = found(
        store, [not_found("GET /articles/{slug}", "article"), not_found("GET /profiles/{name}", "profile")]
    )
    (only,) = f.items
    assert only.signature == "error body" and only.exchanges == 2 and only.grade == BREAKING
    assert "legacy `error.article`" in only.title and "candidate `detail`" in only.title


def test_a_changed_value_from_empty_is_its_own_class(store: Store) -> None:
    f = found(
        store,
        [
            exchange("GET /people/{name}", Difference("changed", "$.invite_token", "", "tok")),
            exchange("GET /people/{name}", Difference("changed", "$.name", "a", "b")),
        ],
    )
    titles = {x.signature: x.title for x in f}
    assert titles == {
        "changed *.invite_token empty→value": "`invite_token`: empty on legacy, a value on candidate",
        "changed *.name": "`name`: values differ",
    }


def test_exchanges_count_once_per_finding_and_the_clustering_is_deterministic(tmp_path: Path) -> None:
    def outcomes() -> list[Outcome]:
        out = []
        for i in range(6):
            diffs = [
                Difference("removed", f"$.items[{i}].a", None, None),
                Difference("removed", "$.b", None, None),
            ]
            if i % 2:
                diffs.append(Difference("type", "$.price", 1, "1"))
            out.append(exchange(f"GET /e{i % 3}", *diffs))
        return out + matched("GET /e0", 3)

    views = []
    for name, order in (("a", 1), ("b", -1)):
        with Store.open(tmp_path / f"{name}.db") as store:
            f = findings.of_run(store, run(store, outcomes()[::order]))
        views.append([(x.signature, x.grade, x.title, x.exchanges, x.differences, x.endpoints) for x in f])
    assert views[0] == views[1]
    nulls = views[0][0]
    assert nulls[0] == "removed null" and nulls[3] == 6 and nulls[4] == 12  # 6 exchanges, 12 differences


def test_findings_are_stored_dated_and_dropped_when_the_differences_change(store: Store) -> None:
    a = Difference("changed", "$.a", 1, 2)
    b = Difference("added", "$.b", None, 1)
    first = run(store, [exchange("GET /x", a)])
    second = run(store, [exchange("GET /x", a), exchange("GET /y", b)])
    running = run(store, [exchange("GET /x", a)], status="running")
    f = by_signature(findings.of_run(store, second))
    assert (f["changed *.a"].first_seen, f["added *.b"].first_seen) == (first, second)
    assert f["changed *.a"].first_seen_at == store.run(first).started
    stored = store.stored_findings([first, second, running], version=findings.VERSION)
    assert sorted(stored) == [first, second]  # a complete run is stored; a running one may still change
    assert {x.signature for x in stored[second]} == {"changed *.a", "added *.b"}
    store.apply_noise(second, [NoisePath("GET /y", "$.b", 5, 5, 1, 1, "legacy re-asks differed")])
    assert second not in store.stored_findings([second], version=findings.VERSION)
    assert {x.signature for x in findings.of_run(store, second)} == {"changed *.a"}


def test_the_accept_entry_really_matches(store: Store, tmp_path: Path) -> None:
    """The entry a finding offers, pasted into known-differences.toml, accepts that finding."""
    import datetime as dt

    from paritycheck.config import GateConfig
    from paritycheck.gate import evaluate
    from paritycheck.gate.accepted import finding_entry, load

    run_id = run(
        store,
        [
            *matched("DELETE /tasks/{id}", 3),
            exchange("DELETE /tasks/{id}", legacy_status=401, candidate_status=204),
        ],
    )
    (refusal,) = findings.of_run(store, run_id).items
    gate = GateConfig(min_parity=100)
    before = evaluate(store, run_id, gate)
    assert [c.name for c in before.failures] == ["parity", "candidate accepts what legacy refused"]
    known = tmp_path / "known-differences.toml"
    known.write_text(finding_entry(refusal.signature, until=dt.date.today() + dt.timedelta(days=30)))
    after = evaluate(store, run_id, gate, known=load(known))
    assert after.passed, [c.note for c in after.failures]
    assert [(a.endpoint, a.kind, a.count) for a in after.accepted] == [("DELETE /tasks/{id}", "status", 1)]
    assert refusal.accept_command().startswith("paritycheck accept --finding 'status 401→204' --reason ")
