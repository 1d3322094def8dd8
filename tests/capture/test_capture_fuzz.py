"""Property test of the HAR and JSON-lines readers over mutations of the real HARs in tests/data.

Cuts, type changes, missing and extra keys, odd encodings: a reader either yields entries or raises one
CaptureError whose message is one line, and the counts reconcile (indexes run 0..n-1, never more
exchanges than entries, every entry of an uncut file accounted for). The normal suite runs a bounded,
derandomised number of examples; ``make fuzz`` sets PARITYCHECK_FUZZ_EXAMPLES for many more.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck import capture
from paritycheck.errors import CaptureError

DATA = Path(__file__).resolve().parent.parent / "data" / "har"
#: The real HARs that parse (the deliberately broken one is covered by the cut mutation), smallest first.
SOURCES: list[tuple[str, Any]] = []
for _path in sorted(DATA.glob("*.har"), key=lambda p: p.stat().st_size):
    try:
        SOURCES.append((_path.name, json.loads(_path.read_bytes().decode("utf-8-sig"))))
    except ValueError:
        continue
SOURCES = [s for s in SOURCES if isinstance(s[1].get("log", {}).get("entries"), list)][:12]

EXAMPLES = int(os.environ.get("PARITYCHECK_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=EXAMPLES <= 200,  # the suite is repeatable; `make fuzz` explores
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a dict or list inside ``node``."""
    out = [path] if isinstance(node, dict | list) else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out += _containers(child, (*path, key))
    return out


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated_document(draw: st.DrawFn) -> tuple[Any, int]:
    """A HAR document with one structural mutation inside ``log.entries``, and its entry count."""
    _name, doc = draw(st.sampled_from(SOURCES))
    doc = copy.deepcopy(doc)
    entries = doc["log"]["entries"]
    if entries:
        target = _at(entries, draw(st.sampled_from(_containers(entries))))
        keys = list(target.keys()) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["type", "delete", "extra"]))
        if action == "extra" or not keys:
            if isinstance(target, dict):
                target[draw(st.text(max_size=8))] = draw(ODD_VALUES)
            else:
                target.append(draw(ODD_VALUES))
        else:
            key = draw(st.sampled_from(keys))
            if action == "type":
                target[key] = draw(ODD_VALUES)
            else:
                del target[key]
    return doc, len(doc["log"]["entries"])


def _to_jsonl(doc: Any) -> bytes:
    """The entries as JSON lines (what a script would write), keeping whatever the mutation left."""
    lines = []
    for e in doc["log"]["entries"]:
        req = e.get("request") if isinstance(e, dict) else None
        if not isinstance(req, dict):
            lines.append(json.dumps(e))
            continue
        line: dict[str, Any] = {"method": req.get("method"), "url": req.get("url")}
        if isinstance(req.get("headers"), list):
            line["headers"] = [
                [h.get("name"), h.get("value")] if isinstance(h, dict) else h for h in req["headers"]
            ]
        resp = e.get("response")
        if isinstance(resp, dict):
            line["response"] = {"status": resp.get("status")}
        lines.append(json.dumps(line))
    return ("\n".join(lines) + "\n").encode()


def _check(data: bytes, suffix: str, *, entries: int | None, exact: bool = True) -> None:
    """Read ``data`` as a capture: entries or one CaptureError with a one-line message; counts reconcile."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        seen: list[int] = []
        try:
            for exchange in capture.read(path):
                seen.append(exchange.index)
                assert exchange.skip is None or isinstance(exchange.skip, str)
        except CaptureError as exc:
            message = str(exc)
            assert message and "\n" not in message, message
            assert str(path) in message
            if entries is not None:
                assert len(seen) <= entries
        else:
            if entries is not None:
                # an uncut file: every entry accounted for (JSON lines cut at a line end just has fewer)
                assert len(seen) == entries if exact else len(seen) <= entries
        assert seen == list(range(len(seen)))


@FUZZ
@given(mutated_document())
def test_har_reader_under_structural_mutations(mutated: tuple[Any, int]) -> None:
    doc, entries = mutated
    _check(json.dumps(doc).encode(), ".har", entries=entries)


@FUZZ
@given(mutated_document())
def test_jsonl_reader_under_structural_mutations(mutated: tuple[Any, int]) -> None:
    doc, entries = mutated
    _check(_to_jsonl(doc), ".jsonl", entries=entries)


@FUZZ
@given(st.sampled_from(SOURCES), st.floats(min_value=0, max_value=1), st.booleans())
def test_readers_on_files_cut_short(source: tuple[str, Any], where: float, jsonl: bool) -> None:
    _name, doc = source
    data = _to_jsonl(doc) if jsonl else json.dumps(doc).encode()
    cut = data[: int(len(data) * where)]
    _check(cut, ".jsonl" if jsonl else ".har", entries=len(doc["log"]["entries"]), exact=cut == data)


@FUZZ
@given(
    st.sampled_from(SOURCES),
    st.sampled_from(["utf-16", "utf-16-le", "utf-8-sig", "latin-1", "cp1252", "utf-32"]),
    st.binary(max_size=4),
)
def test_readers_on_odd_encodings(source: tuple[str, Any], encoding: str, junk: bytes) -> None:
    _name, doc = source
    text = json.dumps(doc, ensure_ascii=False)
    data = text.encode(encoding, errors="replace")
    _check(data, ".har", entries=None)
    _check(data[: len(data) // 2] + junk + data[len(data) // 2 :], ".har", entries=None)


def test_the_sources_are_real_hars() -> None:
    assert len(SOURCES) >= 8
    assert sum(len(doc["log"]["entries"]) for _name, doc in SOURCES) > 20


@pytest.mark.parametrize("name", [n for n, _ in SOURCES])
def test_every_source_reads_whole(name: str) -> None:
    doc = dict(SOURCES)[name]
    _check(json.dumps(doc).encode(), ".har", entries=len(doc["log"]["entries"]))
