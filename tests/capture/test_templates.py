"""Endpoint templates learned from the capture: slugs and usernames become {param}, resources stay."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paritycheck.capture import KnownNames, kept_literals, learn_templates
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


# --- names stable across runs, never beside their own instances (issue 21.7) ---------------------------


def test_a_template_takes_in_its_own_literal_instances() -> None:
    """One report showed /api/articles/{id} beside /api/articles/short-lived-552303: two slugs are too
    few to learn a parameter, but the template is there already."""
    counts = {
        "GET /api/articles/{id}": 4,
        "GET /api/articles/short-lived-552303": 1,
        "GET /api/articles/how-to-train-your-dragon": 2,
        "GET /api/articles/feed": 5,  # a plain word repeated: a literal
        "GET /api/users/{id}": 3,
        "GET /api/users/me": 1,  # a lone plain word: a resource's name, not data
    }
    assert learn_templates(counts) == {
        "GET /api/articles/short-lived-552303": "GET /api/articles/{id}",
        "GET /api/articles/how-to-train-your-dragon": "GET /api/articles/{id}",
    }


def test_templates_the_store_remembers_name_a_later_run() -> None:
    known = KnownNames(
        ("GET /api/profiles/{param}", "GET /api/v1/kpis/{kpi_id}", "GET /api/articles/{slug}"),
        frozenset({"GET /api/articles/feed"}),
    )
    counts = {
        "GET /api/profiles/alice552303": 1,  # one profile: nothing to learn from this run alone
        "GET /api/v1/kpis/{id}": 3,  # the spec named it in an earlier run
        "GET /api/articles/feed": 1,  # kept as a literal by an earlier run, however rare here
        "GET /api/articles/a-1": 1,
    }
    assert learn_templates(counts, known=known) == {
        "GET /api/profiles/alice552303": "GET /api/profiles/{param}",
        "GET /api/v1/kpis/{id}": "GET /api/v1/kpis/{kpi_id}",
        "GET /api/articles/a-1": "GET /api/articles/{slug}",
    }
    assert kept_literals(["GET /api/articles/feed", "GET /x"], known.templates) == {"GET /api/articles/feed"}


def test_one_endpoint_has_one_spelling() -> None:
    # numeric ids ({id}) and slugs ({param}) at one position are one endpoint; the spec's name wins
    assert learn_templates({"GET /x/{id}": 2, **{f"GET /x/s-{i}": 1 for i in range(4)}}) == {
        f"GET /x/s-{i}": "GET /x/{id}" for i in range(4)
    }
    assert learn_templates({"GET /x/{id}": 2}, fixed=frozenset({"GET /x/{x_id}"})) == {
        "GET /x/{id}": "GET /x/{x_id}"
    }
    assert KnownNames(("GET /kpis/{kpi_id}",)).spelling()("GET /kpis/{id}") == "GET /kpis/{kpi_id}"


segment = st.sampled_from(["a-1", "b_2", "Carol", "dave3", "feed", "me", "x.y", "{id}", "42"])


@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["/api/articles", "/api/users/{id}/posts"]), segment), st.integers(1, 6)
    )
)
def test_no_template_stands_beside_a_slug_it_covers(raw: dict[tuple[str, str], int]) -> None:
    counts: dict[str, int] = {}
    for (prefix, value), n in raw.items():
        name = f"GET {prefix}/{'{id}' if value == '42' else value}"
        counts[name] = counts.get(name, 0) + n
    names = learn_templates(counts)
    final = {names.get(n, n) for n in counts}
    templates = {n for n in final if "{" in n.rsplit("/", 1)[1]}
    for literal in final - templates:
        value = literal.rsplit("/", 1)[1]
        covered = any(t.rsplit("/", 1)[0] == literal.rsplit("/", 1)[0] for t in templates)
        assert not (covered and any(c in value for c in "-_.0123456789")), (counts, names)
