"""Counted nouns for every message: ``plural(1, "pair")`` is "1 pair", ``plural(2, "pair")`` "2 pairs".

One helper rather than ``f"{n} pairs"`` at each site, so "1 more groups" cannot come back one message at
a time; tests/test_plural.py guards the rule.
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun``, in the plural unless ``count`` is 1; thousands separated by commas.

    ``many`` names an irregular plural ("entry" → "entries" is handled; pass others explicitly).
    """
    if count == 1:
        return f"1 {noun}"
    if many is None:
        many = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{count:,} {many}"


def noun(count: int, singular: str, many: str | None = None) -> str:
    """Only the noun of :func:`plural` ("group" or "groups"), for phrases that put words between."""
    return plural(count, singular, many).split(" ", 1)[1]


__all__ = ["noun", "plural"]
