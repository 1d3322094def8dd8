"""Issue 21's acceptance on two independent implementations of one public API (tests/findings/conduit.py):
with no rule written by hand, the ~70 difference groups over ~16 endpoints come out as one finding per
root cause (at most two, split by grade), no more than 1.3 x the root causes, the refusals first, and
the gate fails the run on them in one line."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from paritycheck import findings
from paritycheck.compare import ACCEPTS_REFUSED
from paritycheck.config import Backend, Backends, Config, GateConfig, ReplayConfig
from paritycheck.findings import Finding, Member, field_of
from paritycheck.gate import evaluate
from paritycheck.run import replay_captures
from paritycheck.store import Store
from tests.findings.conduit import CANDIDATE, CAUSES, LEGACY, make_app, write_capture
from tests.servers import serve

_STATUS = {
    "200→201": "create-201",
    "401→403": "auth-403",
    "404→200": "put-by-other",
    "500→204": "delete-other",
    "422→400": "validation",
}


def root_cause(m: Member) -> str:
    """Which seeded root cause a group of differences is, from what the fixture's docstring says."""
    field = field_of(m.path)
    if m.kind == "status":
        return _STATUS.get(m.detail, "unexplained")
    if m.kind == "type" and m.detail == "null→string" and field in ("bio", "image"):
        return "profile-nulls"
    if m.kind == "removed" and field == "email" and ".author." in m.path:
        return "author-email"
    if m.kind == "order" and field == "tag_list":
        return "tag-order"
    if m.kind == "changed" and field == "articles_count":
        return "count"
    if (m.kind, m.path) in (("removed", "$.error"), ("added", "$.detail")):
        return "not-found"  # both refused with 404: {"errors": ...} against {"detail": ...}
    return "unexplained"


@pytest.fixture(scope="module")
def conduit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The scripted session replayed against both implementations with the default rules."""
    folder = tmp_path_factory.mktemp("conduit")
    capture = write_capture(folder / "session.jsonl")
    with serve(make_app(LEGACY)) as legacy, serve(make_app(CANDIDATE)) as candidate:
        config = Config(
            backends=Backends(legacy=Backend(url=legacy), candidate=Backend(url=candidate)),
            # one request at a time: the session writes, and later requests read what it wrote
            replay=dataclasses.replace(ReplayConfig(), allow_writes=True, concurrency=1),
        )
        result = asyncio.run(replay_captures(config, [capture], db=folder / "r.db"))
    return folder / "r.db", result.run_id


@pytest.fixture(scope="module")
def found(conduit: tuple[Path, int]) -> findings.Findings:
    db, run_id = conduit
    with Store.open(db, create=False) as store:
        return findings.of_run(store, run_id)


def test_the_repetition_is_there(conduit: tuple[Path, int]) -> None:
    """The same causes repeat once per endpoint, as the issue saw: many groups, few causes."""
    db, run_id = conduit
    with Store.open(db, create=False) as store:
        groups = store.difference_groups(run_id)
    assert len(groups) >= 50 and len({g.endpoint for g in groups}) >= 12
    nulls = [g for g in groups if g.kind == "type" and g.path.endswith((".bio", ".image"))]
    assert len({g.endpoint for g in nulls}) >= 9  # null against "" or a default picture, on 9+ endpoints


def test_every_root_cause_is_one_finding(found: findings.Findings) -> None:
    by_cause: dict[str, list[Finding]] = {}
    for f in found:
        causes = {root_cause(m) for m in f.causes}
        assert len(causes) == 1 and "unexplained" not in causes, (f.signature, causes)  # never two mixed
        by_cause.setdefault(causes.pop(), []).append(f)
    assert sorted(by_cause) == sorted(CAUSES)
    for cause, items in by_cause.items():
        # one finding, or two split by grade
        assert len(items) == 1 or (len(items) == 2 and items[0].grade != items[1].grade), cause
    assert len(found) <= 1.3 * len(CAUSES)


def test_refusals_first_with_the_status_consequences_as_detail(found: findings.Findings) -> None:
    first, second = found.items[:2]
    assert first.grade == second.grade == ACCEPTS_REFUSED
    assert {first.signature, second.signature} == {"status 404→200", "status 500→204 on a write"}
    assert not [f for f in found.items[2:] if f.grade == ACCEPTS_REFUSED]
    (auth,) = [f for f in found if f.signature == "status 401→403"]
    # the two error bodies come with the status: detail of its finding, not findings of their own
    assert {(m.kind, m.path) for m in auth.consequences} == {("removed", "$.error"), ("added", "$.detail")}
    assert len(auth.endpoints) >= 4 and auth.exchanges == len(auth.causes)
    (creates,) = [f for f in found if f.signature == "status 200→201"]
    assert len(creates.endpoints) == 5 and not creates.consequences  # two answers: compared as such
    (nulls,) = [f for f in found if f.signature == "type null→string"]
    assert nulls.title == "`bio` and `image`: null on legacy, a string on candidate"
    assert len(nulls.endpoints) >= 9 and "whatever the field" in nulls.why


def test_the_gate_fails_on_the_refusals_in_one_line(conduit: tuple[Path, int]) -> None:
    db, run_id = conduit
    with Store.open(db, create=False) as store:
        result = evaluate(store, run_id, GateConfig(min_parity=0, max_failed=100))
    (row,) = [c for c in result.criteria if c.name == "candidate accepts what legacy refused"]
    assert not result.passed and row.measured == 2 and row.subject.endswith("(+1 more)")
    assert [c.name for c in result.failures] == ["candidate accepts what legacy refused"]
