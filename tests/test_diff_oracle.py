"""deepdiff as the oracle of our walker (compare/diff.py): the same changed, added, removed and
type-changed paths on generated JSON pairs.

deepdiff is too slow for the hot path (~350-690 one-KB comparisons/s against the >= 1,000 differing
pairs/s a replay needs), so it is a test dependency: a well-kept library that the fast walker must agree
with. What "agree" means takes a mapping, stated here once:

Paths. deepdiff names a location as a list of keys and indexes (``view="tree"``,
``level.path(output_format="list")``); ours is a JSONPath string. Ours is parsed back with
``paritycheck.common.jsonpath.parse`` and compared as that list, so our quoting of odd keys (``$['a b']``)
is checked too.

Kinds. ``values_changed`` is ``changed``; ``type_changes`` is ``type``, except between ``int`` and
``float``, which are one JSON number type (equal values: no difference; others: ``changed``), while
``bool`` stays apart from numbers as in JSON (deepdiff's ``ignore_numeric_type_changes`` would call
``True`` equal to ``1``, so it is not used); ``dictionary_item_added`` / ``_removed`` are ``added`` /
``removed``. A difference is reported where the values part; nothing is reported inside it.

Arrays. deepdiff pairs array elements its own way (difflib or index by index, whichever reports less), so
the test aligns every pair of arrays as our walker documents it, and hands deepdiff the aligned pairs:
each array becomes an object keyed by the index our paths name, so deepdiff compares exactly the
elements we pair and reports the rest as added or removed at the index we name. Our alignment:

1. Equal length, the same elements in another order (a permutation): one ``order`` at the array, nothing
   inside.
2. Objects with an identity key: the first of ``id``, ``uuid``, ``key``, ``slug``, ``name``, ``code``,
   then of the other keys by name (learned), that every element of both has, with unique string or
   integer values, where one side's identities include the other's. If the shared ones come in another
   order: one ``order`` at the array; elements paired by identity, named by their legacy index; the
   others removed (legacy index) or added (candidate index). A learned key is used only where that gives
   fewer differences than 3-4 do. If they keep their order, 3-4 apply.
3. Unequal length: difflib's opcodes over the elements' signatures (the identity key's value when every
   element of both has one of the named keys, else the canonical JSON); equal blocks and the common
   head of replace blocks pair in order; the rest is removed or added.
4. Otherwise, index by index.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paritycheck.common.jsonparse import dumps_canonical
from paritycheck.common.jsonpath import parse
from paritycheck.compare.diff import diff

IDENTITY = ("id", "uuid", "key", "slug", "name", "code")
Found = set[tuple[str, tuple[Any, ...]]]
#: (pairs of indexes, removed legacy indexes, added candidate indexes, reordered)
Aligned = tuple[list[tuple[int, int]], list[int], list[int], bool]

# --- the oracle ---------------------------------------------------------------------------------------


def oracle(legacy: Any, candidate: Any) -> Found:
    """What deepdiff reports for the pair once our array alignment is applied, as (kind, location)."""
    orders: Found = set()
    a, b = _aligned(legacy, candidate, (), orders)
    from deepdiff import DeepDiff  # here, not at collection: ~0.18 s in every test process

    tree = DeepDiff(a, b, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    found = set(orders)
    for report, levels in tree.items():
        for level in levels:
            where = tuple(_index(p) for p in level.path(output_format="list"))
            kind = _kind(report, level.t1, level.t2)
            if kind is not None:
                found.add((kind, where))
    return found


def _kind(report: str, t1: Any, t2: Any) -> str | None:
    if report == "values_changed":
        return "changed"
    if report == "type_changes":
        numbers = (int, float)
        if type(t1) in numbers and type(t2) in numbers:  # one JSON number type
            return None if t1 == t2 else "changed"
        return "type"
    if report == "dictionary_item_added":
        return "added"
    if report == "dictionary_item_removed":
        return "removed"
    raise AssertionError(f"unexpected deepdiff report {report}: arrays are aligned before deepdiff runs")


def _index(part: Any) -> Any:
    """An aligned array's keys back to indexes: ``i`` (legacy, or paired) and ``"+j"`` (added)."""
    if isinstance(part, _Added):
        return part.index
    return part


class _Added:
    """The key of an element only the candidate has: deepdiff reports it added, at candidate index j."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"+{self.index}"

    def __hash__(self) -> int:
        return hash(("added", self.index))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Added) and other.index == self.index

    def __lt__(self, other: object) -> bool:  # deepdiff sorts keys when it reports them
        return repr(self) < repr(other)


def _aligned(a: Any, b: Any, where: tuple[Any, ...], orders: Found) -> tuple[Any, Any]:
    """``a`` and ``b`` with every pair of arrays at one location turned into objects keyed as above."""
    if type(a) is dict and type(b) is dict:
        a2, b2 = dict(a), dict(b)
        for key in a.keys() & b.keys():
            a2[key], b2[key] = _aligned(a[key], b[key], (*where, key), orders)
        return a2, b2
    if type(a) is list and type(b) is list:
        pairs, removed, added, order = alignment(a, b)
        if order:
            orders.add(("order", where))
        a2: dict[Any, Any] = {i: a[i] for i in removed}
        b2: dict[Any, Any] = {_Added(j): b[j] for j in added}
        for i, j in pairs:
            a2[i], b2[i] = _aligned(a[i], b[j], (*where, i), orders)
        return a2, b2
    return a, b


def alignment(a: list[Any], b: list[Any]) -> Aligned:
    """Our documented alignment of two arrays: (pairs, removed indexes, added indexes, reordered)."""
    canon_a, canon_b = [dumps_canonical(x) for x in a], [dumps_canonical(y) for y in b]
    if canon_a == canon_b:
        return [(i, i) for i in range(len(a))], [], [], False  # JSON-equal: nothing to report
    if len(a) == len(b) and len(a) > 1 and sorted(canon_a) == sorted(canon_b):
        return [], [], [], True  # 1: one order, nothing inside
    by_identity = _by_identity(a, b)
    if by_identity is not None:
        return by_identity
    return _by_position(a, b)


def _by_position(a: list[Any], b: list[Any]) -> Aligned:
    if len(a) == len(b):
        return [(i, i) for i in range(len(a))], [], [], False  # 4
    sig_a, sig_b = _signatures(a, b)
    pairs, removed, added = [], [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, sig_a, sig_b, autojunk=False).get_opcodes():
        paired = i2 - i1 if op == "equal" else min(i2 - i1, j2 - j1) if op == "replace" else 0
        pairs += [(i1 + k, j1 + k) for k in range(paired)]
        removed += range(i1 + paired, i2)
        added += range(j1 + paired, j2)
    return pairs, removed, added, False  # 3


def _signatures(a: list[Any], b: list[Any]) -> tuple[list[bytes], list[bytes]]:
    if a and b and all(type(x) is dict for x in [*a, *b]):
        for key in IDENTITY:
            if all(key in x for x in [*a, *b]):
                return [dumps_canonical(x[key]) for x in a], [dumps_canonical(y[key]) for y in b]
    return [dumps_canonical(x) for x in a], [dumps_canonical(y) for y in b]


def _by_identity(a: list[Any], b: list[Any]) -> Aligned | None:
    if not (a and b and all(type(x) is dict for x in [*a, *b])):
        return None
    shared = set.intersection(*(set(x) for x in [*a, *b]))
    for key in [*(k for k in IDENTITY if k in shared), *sorted(shared - set(IDENTITY))]:
        ids_a, ids_b = [x[key] for x in a], [y[key] for y in b]
        if any(type(v) not in (str, int) for v in [*ids_a, *ids_b]):
            continue
        if len(set(ids_a)) < len(a) or len(set(ids_b)) < len(b):
            continue
        if not (set(ids_a) <= set(ids_b) or set(ids_b) <= set(ids_a)):
            continue
        pairs = [(i, ids_b.index(v)) for i, v in enumerate(ids_a) if v in ids_b]
        if all(p[1] < q[1] for p, q in itertools.pairwise(pairs)):
            return None  # the first key that identifies the elements says they keep their order
        removed = [i for i, v in enumerate(ids_a) if v not in ids_b]
        added = [j for j, v in enumerate(ids_b) if v not in ids_a]
        found = (pairs, removed, added, True)
        if key not in IDENTITY and _count(a, b, found) >= _count(a, b, _by_position(a, b)):
            return _by_position(a, b)  # a learned key that explains less than positions do
        return found
    return None


def _count(a: list[Any], b: list[Any], aligned: Aligned) -> int:
    pairs, removed, added, order = aligned
    inner = sum(len(oracle(a[i], b[j])) for i, j in pairs)
    return inner + len(removed) + len(added) + order


def ours(legacy: Any, candidate: Any) -> Found:
    found: Found = set()
    for d in diff(legacy, candidate):
        location = tuple(selector for _, selector in parse(d.path).steps)
        found.add((d.kind, location))
    return found


# --- generated pairs ------------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "id", "slug", "a b", "it's", "", "0", "é", "*", "[0]", "a.b", "\\", '"'])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.sampled_from([0.0, -0.0, 1.0, -1.5, 2.5, 0.1, 0.30000000000000004, 0.3, 2**53, 10**25, 1e25])
    | st.sampled_from(["", "a", "b", "1", "true"])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.text(max_size=3)
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with a few of its values changed, keys added or dropped, or arrays shortened or grown."""
    if type(doc) is dict:
        out = {k: draw(mutated(v)) if draw(st.booleans()) else v for k, v in doc.items()}
        if out and draw(st.integers(0, 4)) == 0:
            out.pop(draw(st.sampled_from(sorted(out))))
        if draw(st.integers(0, 4)) == 0:
            out[draw(KEYS)] = draw(documents)
        return out
    if type(doc) is list:
        out_list = [draw(mutated(v)) if draw(st.integers(0, 2)) == 0 else v for v in doc]
        edit = draw(st.integers(0, 5))
        if edit == 0 and out_list:
            del out_list[draw(st.integers(0, len(out_list) - 1))]
        elif edit == 1:
            out_list.insert(draw(st.integers(0, len(out_list))), draw(documents))
        elif edit == 2:
            out_list = draw(st.permutations(out_list))
        return out_list
    return draw(documents) if draw(st.integers(0, 2)) == 0 else doc


@st.composite
def records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Objects with an identity (``id``, ``slug`` or an unnamed unique ``ref``) and a few fields."""
    key = draw(st.sampled_from(["id", "slug", "ref"]))
    ids = draw(st.lists(st.integers(0, 9), min_size=1, max_size=5, unique=True))
    return [
        {
            key: i if key != "slug" else f"post-{i}",
            "body": draw(st.sampled_from(["x", "y"])),
            "n": draw(scalars),
        }
        for i in ids
    ]


similar = documents.flatmap(lambda doc: st.tuples(st.just(doc), mutated(doc)))
listed = records().flatmap(lambda rows: st.tuples(st.just({"items": rows}), mutated({"items": rows})))


#: ``make fuzz`` sets PARITYCHECK_FUZZ_EXAMPLES for many more (the suite runs a few, derandomised).
EXAMPLES = int(os.environ.get("PARITYCHECK_FUZZ_EXAMPLES", "80"))
ORACLE = settings(
    max_examples=EXAMPLES,
    derandomize=EXAMPLES <= 200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def agree(legacy: Any, candidate: Any) -> None:
    assert ours(legacy, candidate) == oracle(legacy, candidate), json.dumps([legacy, candidate], default=str)


@ORACLE
@given(documents, documents)
def test_agrees_with_deepdiff_on_unrelated_documents(legacy: Any, candidate: Any) -> None:
    agree(legacy, candidate)


@ORACLE
@given(similar)
def test_agrees_with_deepdiff_on_a_document_and_its_edit(pair: tuple[Any, Any]) -> None:
    agree(*pair)


@ORACLE
@given(listed)
def test_agrees_with_deepdiff_on_lists_of_records(pair: tuple[Any, Any]) -> None:
    agree(*pair)


def test_the_mapping_itself() -> None:
    """The oracle's own reading of a few pairs whose answer is known (a check of the test, not of diff)."""
    assert oracle({"v": 1}, {"v": 1.0}) == set()
    assert oracle({"v": True}, {"v": 1}) == {("type", ("v",))}
    assert oracle([1, 2, 3], [2, 3]) == {("removed", (0,))}
    assert oracle([1, 2], [2, 1]) == {("order", ())}
    rows = [{"id": 1, "x": 1}, {"id": 2, "x": 2}]
    assert oracle(rows, [{"id": 2, "x": 3}, {"id": 1, "x": 1}]) == {("order", ()), ("changed", (1, "x"))}
    assert oracle({"a b": []}, {"a b": [None]}) == {("added", ("a b", 0))}
