"""Endpoint templates learned from the capture: slugs and usernames become {param}, resources stay."""

from __future__ import annotations

from pathlib import Path

from paritycheck.capture import learn_templates
from paritycheck.config import parse
from paritycheck.run import replay_captures
from tests.harutil import gets, write_har
from tests.servers import json_serve


def test_slugs_and_usernames_become_a_parameter_and_repeating_literals_stay() -> None:
    counts = {f"GET /api/profiles/celeb_evaluser{i}": 1 for i in range(19)}
    counts |= {f"POST /api/profiles/user-{i}/follow": 1 for i in range(3)}
    counts |= {"GET /api/articles/feed": 20, "GET /api/articles/how-to-train": 2, "GET /api/articles/b-2": 1}
    counts |= {"GET /api/articles/c-3": 1}
    counts |= {
        "GET /api/v1/kpis": 5,
        "GET /api/v1/goals": 9,
        "GET /api/v1/projects": 3,
        "GET /api/v1/health": 1,
    }
    names = learn_templates(counts)
    assert set(names.values()) == {
        "GET /api/profiles/{param}",
        "POST /api/profiles/{param}/follow",
        "GET /api/articles/{param}",
    }
    assert "GET /api/articles/feed" not in names  # a literal that repeats
    assert not any(n.startswith("GET /api/v1/") for n in names)  # names of resources, not data


def test_two_values_are_not_enough_and_configured_names_never_change() -> None:
    assert learn_templates({"GET /a/x-1": 1, "GET /a/y-2": 1}) == {}
    counts = {f"GET /a/item-{i}": 1 for i in range(5)}
    assert learn_templates(counts, fixed=frozenset(counts)) == {}


async def test_a_replay_names_slug_endpoints_from_the_capture(tmp_path: Path) -> None:
    paths = [f"/api/profiles/celeb_user{i}" for i in range(6)] + ["/api/tags"]
    capture = write_har(tmp_path / "c.har", gets("https://prod.test", paths))
    routes = {p: {"username": p.rsplit("/", 1)[1]} for p in paths}
    with json_serve(routes) as legacy, json_serve(routes) as candidate:
        config = parse({"backends": {"legacy": legacy.url, "candidate": candidate.url}}, source="test")
        result = await replay_captures(config, [capture], db=tmp_path / "r.db")
    endpoints = {e.endpoint: e.total for e in result.summary.endpoints}
    assert endpoints == {"GET /api/profiles/{param}": 6, "GET /api/tags": 1}
