"""Correlation: which answered values count as generated, and where later requests get them swapped."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from paritycheck.models import Reply, Request
from paritycheck.session import correlate as cor


def request(
    method: str, target: str, *, headers: tuple[tuple[str, str], ...] = (), body: object = None
) -> Request:
    path, _, query = target.partition("?")
    raw = json.dumps(body).encode() if body is not None else None
    return Request(method, "http://x" + target, path, query, headers, raw)


def swap(mapping: dict[tuple[str, str], object]):  # type: ignore[no-untyped-def]
    """A replacer over (place, value) like the runtime's: strong values anywhere, weak ones by place."""

    def replace(text: str, place: str | None) -> str | int | None:
        if cor.strong(text) or place == "":
            found = mapping.get(("*", text))
        elif place is None:
            return None
        else:
            found = mapping.get((place, text))
        return found if isinstance(found, str | int) else None

    return replace


def test_ids_slugs_tokens_location_and_cookies_are_produced_by_a_write() -> None:
    doc = {"id": 7, "slug": "q3-launch-7", "owner_id": "u-1234567", "name": "Q3", "count": 3, "ok": True}
    headers = (("location", "http://legacy/api/projects/7"), ("set-cookie", "sid=abcdef123456; Path=/"))
    produced = cor.produced_values(201, headers, doc, path="/api/projects", auto=True, rules=[])
    found = {(p.kind, p.value, p.resource) for p in produced}
    assert ("id", "7", "project") in found
    assert ("slug", "q3-launch-7", "project") in found
    assert ("id", "u-1234567", "owner") in found
    assert ("location", "/api/projects/7", "project") in found
    assert ("cookie", "abcdef123456", "project") in found
    assert not any(p.value in ("Q3", "3", "True") for p in produced)
    # Error answers generate nothing.
    assert cor.produced_values(404, headers, doc, path="/api/projects", auto=True, rules=[]) == []


def test_learning_reads_the_backend_value_at_the_same_place() -> None:
    produced = cor.produced_values(
        201, (), {"id": 7, "slug": "a-7"}, path="/api/projects", auto=True, rules=[]
    )
    reply = Reply(201, (("location", "/api/projects/1007"),), b"")
    learned = cor.learn(produced, reply, {"id": 1007, "slug": "a-x1y2z3"})
    assert {(x.captured, x.value) for x in learned} == {("7", 1007), ("a-7", "a-x1y2z3")}
    assert cor.learn(produced, Reply(500), None) == []


def test_a_listed_id_that_exists_on_the_backend_maps_to_itself_whatever_the_order() -> None:
    captured = {"items": [{"id": 1}, {"id": 2}]}
    produced = cor.produced_values(200, (), captured, path="/api/things", auto=True, rules=[])
    learned = cor.learn(produced, Reply(200), {"items": [{"id": 2}, {"id": 1}]})
    assert {(x.captured, x.value) for x in learned} == {("1", "1"), ("2", "2")}


def test_weak_values_are_swapped_only_where_that_kind_of_id_lives() -> None:
    mapping: dict[tuple[str, str], object] = {("project", "1"): 1001, ("*", "1"): 1001}
    original = request("GET", "/api/projects/1/comments?page=1&project_id=1", body={"project_id": 1, "n": 1})
    out = cor.rewrite(original, swap(mapping))
    assert out.path == "/api/projects/1001/comments"
    assert out.query == "page=1&project_id=1001"
    assert json.loads(out.body or b"") == {"project_id": 1001, "n": 1}
    # A KPI 1 is not project 1.
    assert cor.rewrite(request("GET", "/api/kpis/1"), swap(mapping)).path == "/api/kpis/1"


def test_strong_values_are_swapped_in_headers_bearer_tokens_cookies_and_json() -> None:
    token, slug = "legacy-token-abc", "q3-launch-1"
    mapping: dict[tuple[str, str], object] = {("*", token): "cand-token-xyz", ("*", slug): "q3-launch-9f8e"}
    original = request(
        "POST",
        f"/api/projects/by-slug/{slug}",
        headers=(("authorization", f"Bearer {token}"), ("cookie", f"theme=dark; sid={token}")),
        body={"ref": slug},
    )
    out = cor.rewrite(original, swap(mapping))
    assert out.path == "/api/projects/by-slug/q3-launch-9f8e"
    assert dict(out.headers)["authorization"] == "Bearer cand-token-xyz"
    assert dict(out.headers)["cookie"] == "theme=dark; sid=cand-token-xyz"
    assert json.loads(out.body or b"") == {"ref": "q3-launch-9f8e"}


@given(st.text(alphabet="abc/?=&-123", max_size=30))
def test_nothing_known_means_the_same_request(target: str) -> None:
    original = request("GET", "/" + target)
    assert cor.rewrite(original, lambda text, place: None) is original


def test_request_values_name_id_places() -> None:
    values = dict(
        cor.request_values(request("GET", "/api/projects/5?page=2&ownerId=u9", body={"goal_id": 3}))
    )
    assert values["5"] is True and values["2"] is False and values["u9"] is True and values["3"] is True


def test_stem_and_context() -> None:
    assert cor.stem("projects") == cor.stem("project") == cor.context("projectId") == "project"
    assert cor.stem("categories") == "category"
    assert cor.context("id", ("data", "items", 0)) == ""
    assert cor.context("id", ("owner",)) == "owner"
    assert cor.path_resource("/api/v1/projects/12/comments") == "comment"


def test_a_token_longer_than_the_display_bound_is_still_correlated() -> None:
    # Regression: differences used to carry values already cut to the display bound (200 chars), so a
    # 269-character JWT never equalled the learned token and `changed $.user.token` was reported.
    from paritycheck.compare.diff import LIMIT, diff
    from paritycheck.config import Config
    from paritycheck.session import Group, SessionReplay

    captured, legacy, candidate = ("eyJ" + c * 266 for c in "abc")
    assert len(legacy) > LIMIT
    group = Group(0, "s")
    group.reverse["legacy"][legacy] = captured
    group.reverse["candidate"][candidate] = captured
    where = ("json", ("access_token",), False)
    group.produced[captured] = (0, cor.Produced("token", captured, where, True, ""))
    differences = tuple(diff({"user": {"token": legacy}}, {"user": {"token": candidate}}))
    assert [d.path for d in differences] == ["$.user.token"]
    settled = SessionReplay(Config(), engine=None).settle(group, differences)  # type: ignore[arg-type]
    assert settled == ()


def test_one_backend_value_for_two_captured_ones_is_still_that_backends_own() -> None:
    # Two logins within one second: the legacy signed the same token twice, the candidate two tokens.
    from paritycheck.compare.diff import diff
    from paritycheck.config import Config
    from paritycheck.session import Group, SessionReplay

    group = Group(0, "s")
    for captured, legacy, candidate in (("T1", "L", "C1"), ("T2", "L", "C2")):
        group.answered("legacy", legacy, captured)
        group.answered("candidate", candidate, captured)
    settle = SessionReplay(Config(), engine=None).settle  # type: ignore[arg-type]
    for legacy, candidate in (("L", "C1"), ("L", "C2"), ("Bearer L", "Bearer C2"), ("/t/L", "/t/C1")):
        differences = tuple(diff({"token": legacy}, {"token": candidate}))
        assert settle(group, differences) == (), (legacy, candidate)
    # Values that stand for different captured ones, or a word that is not generated, still differ.
    group.answered("candidate", "C3", "T3")
    for legacy, candidate in (("L", "C3"), ("Bearer L", "Basic C1"), ("L", "unknown")):
        differences = tuple(diff({"token": legacy}, {"token": candidate}))
        assert settle(group, differences) == differences, (legacy, candidate)


def test_the_earliest_exchange_in_capture_order_gives_the_value_whatever_order_they_finish() -> None:
    from paritycheck.session import Group

    group = Group(0, "s")
    assert group.learn("legacy", ("project", "7"), 1007, index=5) is True
    assert group.learn("legacy", ("project", "7"), 2007, index=3) is False  # earlier, finished later
    assert group.learn("legacy", ("project", "7"), 3007, index=9) is False
    assert group.values["legacy"][("project", "7")] == 2007
