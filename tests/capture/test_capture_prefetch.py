"""Reading a capture in a child process yields exactly what capture.read yields, errors included."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paritycheck import capture
from paritycheck.capture import prefetch, read_fast, read_in_child
from paritycheck.errors import CaptureError
from paritycheck.models import Exchange, Recorded, Request
from tests.harutil import entry, write_har

DATA = Path(__file__).resolve().parent.parent / "data" / "har"
HARS = sorted(DATA.glob("*.har"))

Outcome = tuple[list[Exchange], tuple[str, str, int | None, str | None] | None, bool]


def _error(exc: CaptureError) -> tuple[str, str, int | None, str | None]:
    return str(exc), exc.file, exc.entry, exc.hint


def _collect(read: Callable[[Path], Iterator[Exchange]], path: Path) -> Outcome:
    """Everything yielded, the error (if any) and whether it came before iteration started."""
    try:
        it = read(path)
    except CaptureError as exc:
        return [], _error(exc), True
    out: list[Exchange] = []
    try:
        for exchange in it:
            out.append(exchange)
    except CaptureError as exc:
        return out, _error(exc), False
    return out, None, False


def _children() -> list[int]:
    """Pids of this process's live capture-reading children (Linux /proc)."""
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                status = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
            except OSError:
                continue
            if b"paritycheck.capture.child" in cmdline and status != "Z":
                pids.append(int(pid))
    return pids


def _gone(pid: int) -> bool:
    """The process no longer exists, not even as a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def big_har(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HAR just above PREFETCH_MIN_BYTES, in the shape bench/replay.py writes."""
    path = tmp_path_factory.mktemp("prefetch") / "big.har"
    body = json.dumps({"id": 1, "name": "x" * 400})
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"log": {"version": "1.2", "entries": [')
        i = 0
        while fh.tell() <= prefetch.PREFETCH_MIN_BYTES + 100_000:
            item = entry("GET", f"https://api.example.com/api/items/{i}?page={i % 7}", response=body)
            fh.write(("," if i else "") + json.dumps(item))
            i += 1
        fh.write("]}}")
    return path


@pytest.mark.parametrize("path", HARS, ids=[p.name for p in HARS])
def test_every_real_har_gives_what_capture_read_gives(path: Path) -> None:
    expected = _collect(capture.read, path)
    assert _collect(read_in_child, path) == expected


def test_real_files_cover_errors_and_streams() -> None:
    outcomes = [_collect(capture.read, path) for path in HARS]
    assert any(error is not None for _, error, _ in outcomes)
    exchanges = [x for found, _, _ in outcomes for x in found]
    assert any(x.request.stream is not None and x.request.stream.messages for x in exchanges)
    assert any(x.recorded is not None and x.recorded.body for x in exchanges)


def test_truncated_har_fails_at_the_entry_after_yielding_the_earlier_ones(tmp_path: Path) -> None:
    whole = write_har(tmp_path / "whole.har", [entry("GET", f"https://a.test/items/{i}") for i in range(60)])
    text = whole.read_text(encoding="utf-8")
    cut = tmp_path / "cut.har"
    cut.write_text(text[: text.index("/items/41") + 5], encoding="utf-8")
    expected = _collect(capture.read, cut)
    assert expected[1] is not None and expected[1][2] == 41  # the reader names the broken entry
    for batch in (1, 7, 512):
        assert _collect(lambda p, b=batch: read_in_child(p, batch=b), cut) == expected  # type: ignore[misc]


def test_bad_entry_error_keeps_its_hint(tmp_path: Path) -> None:
    items = [entry("GET", f"https://a.test/{i}") for i in range(5)]
    items[3]["response"]["status"] = "OK"
    path = write_har(tmp_path / "bad.har", items)
    found, error, early = _collect(read_in_child, path)
    assert (found, error, early) == _collect(capture.read, path)
    assert error is not None and error[2] == 3 and error[3]
    assert [x.index for x in found] == [0, 1, 2]


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"[1, 2]", b'{"log": {"entries": {}}}', b'{"log": {"entries": [{"request": 1}]}}'],
)
def test_file_level_errors_are_the_same(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.har"
    path.write_bytes(content)
    assert _collect(read_in_child, path) == _collect(capture.read, path)


def test_missing_file_fails_before_iteration(tmp_path: Path) -> None:
    outcome = _collect(read_in_child, tmp_path / "nope.har")
    assert outcome == _collect(capture.read, tmp_path / "nope.har")
    assert outcome[2]


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        {"method": "get", "url": "/v1/a?x=1", "headers": {"x-tag": ["a", "b"]}, "started": "t0"},
        {"method": "POST", "url": "https://api.test/v1/o", "body": "{}", "page": "p1"},
        {"method": "GET", "url": "ws://api.test/socket"},
        {"method": "GET", "url": "/v1/b", "response": {"status": 201, "body_base64": "AAEC"}},
    ]
    good = tmp_path / "c.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    expected = _collect(capture.read, good)
    assert len(expected[0]) == 4 and expected[1] is None
    assert _collect(read_in_child, good) == expected
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text(encoding="utf-8") + '{"method": "GET", "url"', encoding="utf-8")
    expected = _collect(capture.read, bad)
    assert expected[1] is not None and expected[1][2] == 4
    assert _collect(read_in_child, bad) == expected


def test_unexpected_exception_in_the_child_becomes_a_capture_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run the child's producer in this process (a spawned child cannot be monkeypatched).
    one = Exchange(0, "f.har", Request("GET", "https://a.test/", "/"), Recorded(200, (), b"{}"))

    def broken(path: str) -> Iterator[Exchange]:
        yield one
        raise RuntimeError("boom")

    monkeypatch.setattr(prefetch.reader, "read", broken)
    sent: list[bytes] = []
    prefetch.produce(sent.append, "f.har", 512)
    messages = [pickle.loads(data) for data in sent]
    assert len(messages) == 2 and len(messages[0][1]) == 1
    error = prefetch._capture_error(*messages[1][1:])
    assert str(error) == "f.har: entry 1: internal error reading the capture: RuntimeError: boom"
    assert (error.file, error.entry) == ("f.har", 1) and error.hint


def test_early_close_stops_the_child_and_reaps_it(big_har: Path) -> None:
    before = set(_children())
    it = read_in_child(big_har, batch=64)
    assert not set(_children()) - before  # nothing runs until the first next()
    assert next(it).index == 0
    (pid,) = set(_children()) - before
    it.close()  # type: ignore[attr-defined]
    assert pid not in _children()
    assert _gone(pid)


def test_a_killed_child_is_a_capture_error_not_a_hang(big_har: Path) -> None:
    it = read_in_child(big_har, batch=64)
    next(it)
    (pid,) = _children()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(CaptureError) as info:
        for _ in it:
            pass
    assert info.value.file == str(big_har) and "stopped unexpectedly" in str(info.value)
    assert not _children()


def _read_position(pid: int, path: Path) -> int | None:
    """How far process ``pid`` has read ``path`` (Linux), or None if it has not opened it."""
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            if os.readlink(fd) == str(path):
                info = (Path(f"/proc/{pid}/fdinfo") / fd.name).read_text()
                return int(info.split()[1])
        except OSError:
            continue
    return None


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc")
def test_the_child_reads_only_a_few_batches_ahead_of_a_slow_reader(big_har: Path) -> None:
    it = read_in_child(big_har, batch=64)
    try:
        next(it)
        (pid,) = _children()
        # Wait until the child stops advancing (blocked on the full pipe), then see how far it got.
        positions: list[int | None] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (len(positions) < 5 or len(set(positions[-5:])) > 1):
            positions.append(_read_position(pid, big_har))
            time.sleep(0.05)
        position = positions[-1]
        assert position is not None and len(set(positions[-5:])) == 1
        assert position < big_har.stat().st_size / 4
    finally:
        it.close()  # type: ignore[attr-defined]


def test_read_fast_uses_a_child_above_the_threshold(big_har: Path) -> None:
    assert big_har.stat().st_size > prefetch.PREFETCH_MIN_BYTES
    it = read_fast(big_har)
    first = next(it)
    # The first entries come from the parent while the child starts: give the child a moment to appear.
    deadline = time.monotonic() + 10
    while not _children() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_children()) == 1
    assert [first, *it] == list(capture.read(big_har))
    assert not _children()


def test_read_fast_reads_small_files_in_process(tmp_path: Path) -> None:
    path = write_har(
        tmp_path / "small.har", [entry("GET", "https://a.test/1"), entry("GET", "https://a.test/2")]
    )
    earlier = set(_children())  # another test's child may still be on its way out
    it = read_fast(path)
    first = next(it)
    assert not set(_children()) - earlier
    assert [first, *it] == list(capture.read(path))
    assert _collect(read_fast, tmp_path / "nope.har") == _collect(capture.read, tmp_path / "nope.har")


def test_batch_must_be_positive(big_har: Path) -> None:
    with pytest.raises(ValueError, match="batch"):
        read_in_child(big_har, batch=0)


@pytest.mark.parametrize("path", HARS, ids=lambda p: p.name)
def test_reading_the_head_here_gives_what_capture_read_gives(path: Path) -> None:
    assert _collect(lambda p: read_in_child(p, head=True), path) == _collect(capture.read, path)


def test_the_head_read_here_hands_over_to_the_child_without_a_gap(
    big_har: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pause after the first entries, so that the child has started and sent batches: it takes over."""
    received: list[int] = []
    real = prefetch._next

    def counted(child: object, file: str) -> object:
        received.append(1)
        return real(child, file)  # type: ignore[arg-type]

    monkeypatch.setattr(prefetch, "_next", counted)
    it = read_in_child(big_har, batch=64, head=True)
    got = [next(it)]
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        got.append(next(it))
        time.sleep(0.01)
    got += list(it)
    assert received, "the child never took over"
    assert got == list(capture.read(big_har))
    assert not _children()


def test_errors_read_in_the_head_or_the_child_are_the_same(tmp_path: Path) -> None:
    good = [entry("GET", f"https://a.test/{i}") for i in range(300)]
    text = json.dumps({"log": {"version": "1.2", "entries": good}})
    for cut in (len(text) // 10, len(text) * 9 // 10):
        path = tmp_path / f"cut{cut}.har"
        path.write_text(text[:cut])
        assert _collect(lambda p: read_in_child(p, batch=16, head=True), path) == _collect(capture.read, path)
    assert not _children()
