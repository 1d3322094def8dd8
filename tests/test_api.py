"""The public API is explicit and importable."""

from __future__ import annotations

import paritycheck


def test_all_names_exist_and_are_sorted() -> None:
    for name in paritycheck.__all__:
        assert hasattr(paritycheck, name), name
    assert list(paritycheck.__all__) == sorted(paritycheck.__all__)


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    assert paritycheck.__version__ == version("paritycheck")
