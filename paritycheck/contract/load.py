"""Reading OpenAPI documents: YAML or JSON, ``$ref`` resolution across local files, error locations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import yaml

from paritycheck.errors import SpecError

#: A resolved reference target: (absolute file, JSON pointer such as ``/components/schemas/Pet``).
Key = tuple[str, str]


#: libyaml's parser where PyYAML was built with it (its wheels are): ten times faster than the pure-Python
#: one on a spec (7.7 against 75 ms for contracts/demo-api.yaml), and the same documents and errors.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """SafeLoader that keeps timestamps as strings (``2020-01-01`` is a string in JSON Schema)."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def location(parts: tuple[str | int, ...]) -> str:
    """Render a location inside a document as ``paths./a.get.responses``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(root)"


def _keys_to_str(node: Any) -> Any:
    # YAML reads `200:` as an int key; OpenAPI keys are always strings.
    if isinstance(node, dict):
        return {str(k): _keys_to_str(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_keys_to_str(v) for v in node]
    return node


class Documents:
    """The files of one description, read once, and ``$ref`` resolution between them."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._display = {str(self.root): str(root)}
        self._cache: dict[str, Any] = {}
        self._texts: dict[str, str] = {}

    def display(self, file: str) -> str:
        """The name of ``file`` as shown to the user."""
        if file in self._display:
            return self._display[file]
        try:
            return str(Path(file).relative_to(Path.cwd()))
        except ValueError:
            return file

    def error(self, file: str, where: tuple[str | int, ...], message: str, *, hint: str) -> SpecError:
        """A SpecError naming the file and the location inside it."""
        return SpecError(f"{self.display(file)}: {location(where)}: {message}", hint=hint)

    def document(self, file: str) -> Any:
        """The parsed content of ``file`` (absolute path), read on first use."""
        if file in self._cache:
            return self._cache[file]
        shown = self.display(file)
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise SpecError(f"{shown}: file not found", hint="check the spec path or the $ref") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"{shown}: cannot read: {exc}", hint="pass a UTF-8 YAML or JSON file") from None
        self._cache[file] = doc = parse(text, shown)
        self._texts[file] = text
        return doc

    def digest(self) -> str:
        """sha256 over every file read so far (root first, then by path): identifies this description."""
        h = hashlib.sha256()
        root = str(self.root)
        for file in sorted(self._texts, key=lambda f: (f != root, f)):
            h.update(Path(file).name.encode() + b"\0" + self._texts[file].encode() + b"\0")
        return h.hexdigest()

    def resolve(self, ref: Any, file: str, where: tuple[str | int, ...]) -> tuple[Any, Key]:
        """Follow one ``$ref`` written in ``file`` at ``where``; return the target and its key."""
        if not isinstance(ref, str):
            raise self.error(file, where, "$ref must be a string", hint="write $ref: '#/components/...'")
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            raise self.error(
                file,
                where,
                f"remote $ref {ref!r} is not supported",
                hint="download the file and refer to it by a relative path",
            )
        target_file = file
        if parts.path:
            target_file = str((Path(file).parent / unquote(parts.path)).resolve())
            try:
                doc = self.document(target_file)
            except SpecError as exc:
                raise self.error(
                    file, where, f"$ref {ref!r}: {exc.message}", hint="fix the file name in the $ref"
                ) from None
        else:
            doc = self.document(file)
        pointer = unquote(parts.fragment)
        node = doc
        if pointer:
            if not pointer.startswith("/"):
                raise self.error(
                    file,
                    where,
                    f"$ref {ref!r}: unsupported fragment",
                    hint="use a JSON pointer such as #/components/schemas/Name",
                )
            for raw in pointer[1:].split("/"):
                token = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(node, dict) and token in node:
                    node = node[token]
                elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                    node = node[int(token)]
                else:
                    raise self.error(
                        file,
                        where,
                        f"$ref {ref!r} points to nothing ({token!r} not found)",
                        hint="fix the JSON pointer or add the missing definition",
                    )
        return node, (target_file, pointer)

    def deref(self, node: Any, file: str, where: tuple[str | int, ...]) -> tuple[Any, str]:
        """Follow the ``$ref`` chain of a response, header or path item; return it and its file."""
        seen: set[Key] = set()
        while isinstance(node, dict) and "$ref" in node:
            node, key = self.resolve(node["$ref"], file, where)
            if key in seen:
                raise self.error(file, where, "circular $ref", hint="break the cycle of references")
            seen.add(key)
            file = key[0]
        return node, file

    def check_refs(self) -> None:
        """Resolve every ``$ref`` reachable from the root, so a dangling one fails at load time."""
        done: set[str] = set()
        todo = [str(self.root)]
        while todo:
            file = todo.pop()
            if file in done:
                continue
            done.add(file)
            for where, ref in _refs(self.document(file), ()):
                _, (target, _) = self.resolve(ref, file, where)
                if target not in done:
                    todo.append(target)


def _refs(node: Any, where: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield (*where, "$ref"), node["$ref"]
        for key, value in node.items():
            # Example payloads and extensions are free-form data, not references.
            if key in ("example", "examples", "$ref") or key.startswith("x-"):
                continue
            if isinstance(value, dict | list):
                yield from _refs(value, (*where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict | list):
                yield from _refs(value, (*where, i))


def parse(text: str, shown: str) -> Any:
    """Parse JSON or YAML text; errors name the file, line and column."""
    first_error = ""
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            # Fall back to YAML, a superset of JSON, which also accepts e.g. trailing tabs.
            first_error = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    try:
        return _keys_to_str(yaml.load(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = first_error or f"{where}{exc.problem or exc}"
        raise SpecError(f"{shown}: {problem}", hint="fix the YAML/JSON syntax at that line") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{shown}: {first_error or exc}", hint="fix the YAML/JSON syntax") from None


def mapping(
    node: Any, docs: Documents, file: str, where: tuple[str | int, ...], *, what: str
) -> Mapping[str, Any]:
    """``node`` as a mapping; None is an empty one; anything else is a SpecError."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise docs.error(
            file,
            where,
            f"{what} must be an object, not {type(node).__name__}",
            hint=f"write {what} as a mapping",
        )
    return node
