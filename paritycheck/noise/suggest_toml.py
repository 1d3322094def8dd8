"""The TOML that ``paritycheck suggest`` prints: the paste-ready ``[normalise]`` section and
``[[endpoint]]`` blocks with each noise rule commented, then the decisions as comments."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Protocol

from paritycheck.config import Config, NormaliseConfig

#: Rules that make a consistent difference disappear: never in the paste-ready block (see Rule.decision).
DECISIONS = frozenset({"null_equals_missing", "unordered"})


@dataclass(frozen=True, slots=True)
class Rule:
    """One suggested setting. ``endpoint`` None is ``[normalise]``, else an ``[[endpoint]]`` match."""

    key: str
    value: Any
    endpoint: str | None
    why: str
    found: int
    clears: int = 0
    #: For a decision: the differences it would hide, as (text, exchanges), most frequent first.
    hides: tuple[tuple[str, int], ...] = ()

    @property
    def where(self) -> str:
        return "[normalise]" if self.endpoint is None else f"[[endpoint]] {self.endpoint}"

    @property
    def decision(self) -> bool:
        """A rule that makes a *consistent* difference disappear (a null for a missing key, an order).

        Noise rules and format conventions are paste-ready: the values differ between the legacy's own
        answers, or say the same thing in another format. A decision hides something the candidate
        really does differently, which may be a bug: it is listed with what it would hide, never merged.
        """
        return self.key in DECISIONS


class Suggestions(Protocol):
    """What :func:`render` prints (:class:`paritycheck.noise.suggest.Suggestions`)."""

    @property
    def run_id(self) -> int: ...

    @property
    def rules(self) -> list[Rule]: ...

    @property
    def compared(self) -> int: ...

    @property
    def remaining(self) -> int: ...

    @property
    def mismatched(self) -> int: ...

    @property
    def still_mismatched(self) -> int: ...

    @property
    def noise_only(self) -> int: ...

    @property
    def notes(self) -> list[str]: ...

    def merged(self) -> Config: ...

    @property
    def decisions(self) -> list[Rule]: ...


def _string(value: str) -> str:
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _string(str(value))


def _comment(rule: Rule) -> str:
    cleared = f"clears {rule.clears} exchange{'s' if rule.clears != 1 else ''}"
    seen = f"seen in {rule.found} exchange{'s' if rule.found != 1 else ''}"
    text = f"# suggested: {rule.why}; {seen}, {cleared}"
    return " ".join(text.split())


def _array(name: str, values: tuple[str, ...], new: dict[str, Rule], indent: str = "") -> list[str]:
    if not any(v in new for v in values):
        return [f"{indent}{name} = [{', '.join(_string(v) for v in values)}]"]
    lines = [f"{indent}{name} = ["]
    for v in values:
        if v in new:
            lines.append(f"{indent}    {_comment(new[v])}")
        lines.append(f"{indent}    {_string(v)},")
    lines.append(f"{indent}]")
    return lines


def render(s: Suggestions) -> str:
    merged = s.merged()
    out = [
        f"# paritycheck suggest: rules learned from run {s.run_id}, merged with the run's configuration.",
        "# Replace the [normalise] section and the [[endpoint]] blocks of paritycheck.toml with these.",
        f"# The run reported {s.mismatched} mismatched exchanges; with these rules {s.still_mismatched}"
        " still would be"
        + (" (look at those: they are not conventions or noise)." if s.still_mismatched else "."),
        *([f"# {s.noise_only} more differed only on paths learned as noise."] if s.noise_only else []),
        '# "clears N": exchanges that fully match once the rule is added on top of the rules measured before',
        "# it (noise first, then the others), comparing the stored bodies again.",
    ]
    out += [f"# {' '.join(note.split())}" for note in s.notes]
    if not s.rules:
        out.append("# Nothing to suggest: no difference of this run has the signature of a false mismatch.")
    out += ["", "[normalise]"]
    glob = [r for r in s.rules if r.endpoint is None]
    scalars = {r.key: r for r in glob if r.key not in ("ignore", "unordered", "compare_headers")}
    for f in dataclasses.fields(NormaliseConfig):
        value = getattr(merged.normalise, f.name)
        if isinstance(value, tuple):
            new = {r.value: r for r in glob if r.key == f.name}
            out += _array(f.name, value, new)
            if f.name == "compare_headers":
                out += [
                    f"# not compared any more: {r.value}: {_comment(r)[2:]}" for r in glob if r.key == f.name
                ]
        else:
            if f.name in scalars and not scalars[f.name].decision:  # decisions are listed apart
                out.append(_comment(scalars[f.name]))
            out.append(f"{f.name} = {_scalar(value)}")
    for rule in merged.endpoint:
        own = [r for r in s.rules if r.endpoint == rule.match and not r.decision]
        out += ["", "[[endpoint]]", f"match = {_string(rule.match)}"]
        for name in ("ignore", "unordered"):
            values: tuple[str, ...] = getattr(rule, name)
            if values:
                out += _array(name, values, {r.value: r for r in own if r.key == name})
    out += _decisions(s.decisions)
    return "\n".join(out) + "\n"


def _decisions(decisions: list[Rule]) -> list[str]:
    """Decisions as comments, never as settings: each hides a difference the candidate really has."""
    if not decisions:
        return []
    out = [
        "",
        "# Decisions, not applied above. Each makes a consistent difference disappear: the candidate",
        "# really answers differently there, which may be a bug. Add one only once the team accepts what",
        "# it hides.",
    ]
    for rule in decisions:
        setting = (
            f"{rule.key} = {_scalar(rule.value) if rule.key != 'unordered' else f'[{_string(rule.value)}]'}"
        )
        hides = "; ".join(f"`{text}` on {n} exchange{'s' if n != 1 else ''}" for text, n in rule.hides[:5])
        out.append(f"#   {rule.where}: {setting}")
        out.append(f"#     {rule.why}; hides: {hides or 'nothing in this run'}")
    return out
