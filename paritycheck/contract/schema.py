"""OpenAPI schema objects -> plain JSON Schema 2020-12, once per description.

OpenAPI-specific rules applied here, so any JSON Schema validator can check bodies:

- 3.0 ``nullable`` (and 2.0 ``x-nullable``) adds ``null`` to the type and to ``enum``; without a type
  the schema becomes ``anyOf [null, schema]``. Applied in 3.1 too: real 3.1 specs still use it.
- In 3.0 and 2.0 the siblings of ``$ref`` are ignored; in 3.1 they apply.
- 3.0 boolean ``exclusiveMinimum``/``exclusiveMaximum`` become 2020-12 numbers.
- Responses: ``writeOnly`` properties must be absent (marked ``$comment: writeOnly``) and are
  dropped from ``required``.
- A ``discriminator`` selects the branch by the property's value (``if``/``then`` chain) instead of
  ``oneOf`` trying every branch; an unknown value fails ``enum`` marked ``$comment: discriminator``.
  Implicit mappings (schema names, and ``allOf`` children of a parent with a discriminator) count.
- ``int32``/``int64`` formats add range bounds; other OpenAPI-only formats are annotations.
- Keywords that do not validate (``example``, ``xml``, ``description``, ``$id``...) are dropped.

References become ``#/$defs/<name>``; each target is converted once and shared by every operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from paritycheck.contract.load import Documents, Key

DRAFT = "https://json-schema.org/draft/2020-12/schema"
WRITE_ONLY = "writeOnly"
DISCRIMINATOR = "discriminator"

_KEEP = frozenset(
    {
        *("type", "enum", "const", "format", "required", "dependentRequired", "pattern"),
        *(
            "multipleOf",
            "maximum",
            "minimum",
            "exclusiveMaximum",
            "exclusiveMinimum",
            "maxLength",
            "minLength",
        ),
        *(
            "maxItems",
            "minItems",
            "uniqueItems",
            "maxContains",
            "minContains",
            "maxProperties",
            "minProperties",
        ),
    }
)
ONE = (
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "dependentSchemas")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


class Converter:
    """Converts the schemas of one description; ``defs`` holds every converted ``$ref`` target."""

    def __init__(self, docs: Documents, *, version: str) -> None:
        self.docs = docs
        # 3.1 and 3.2 schemas are JSON Schema 2020-12; 3.0 and Swagger 2.0 have their own dialect.
        self.v30 = version.startswith(("2.", "3.0"))
        self._schemas = "#/definitions/" if version.startswith("2.") else "#/components/schemas/"
        self.defs: dict[str, Any] = {}
        self._refs_of: dict[str, set[str]] = {}
        self._names: dict[tuple[str, str, bool], str] = {}
        self._children: dict[str, dict[str, list[tuple[str, Key]]]] = {}

    def root(self, schema: Any, file: str, where: tuple[str | int, ...]) -> Any:
        """A self-contained JSON Schema for ``schema`` found in ``file`` at ``where``."""
        body = self.convert(schema, file, where)
        todo, reach = list(_refs_in(body)), set()
        while todo:
            name = todo.pop()
            if name not in reach:
                reach.add(name)
                todo.extend(self._refs_of[name])
        return {"$schema": DRAFT, "$defs": {n: self.defs[n] for n in sorted(reach)}, "allOf": [body]}

    def target(self, schema: Any, file: str, where: tuple[str | int, ...]) -> tuple[Any, str]:
        """The schema after following ``$ref`` chains (to look at ``type``/``format``), and its file."""
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 50:
            schema, (file, _) = self.docs.resolve(schema["$ref"], file, where)
            seen += 1
        return schema, file

    def convert(self, node: Any, file: str, where: tuple[str | int, ...], *, base_ref: bool = False) -> Any:
        """Convert one schema object (recursively)."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            return {}  # lenient: a malformed schema accepts anything rather than failing the load
        if "$ref" in node:
            ref = {"$ref": "#/$defs/" + self._ref(node["$ref"], file, where, base=base_ref)}
            if self.v30:
                return ref
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**self.convert(rest, file, where), **ref} if rest else ref
        return self._schema(node, file, where)

    def _schema(
        self,
        node: dict[str, Any],
        file: str,
        where: tuple[str | int, ...],
        *,
        key: Key | None = None,
        base: bool = False,
    ) -> Any:
        out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
        typ = out.get("type")
        if typ == "file" or (isinstance(typ, list) and "file" in typ):
            out.pop("type")  # Swagger 2.0 file responses are binary
        if not isinstance(out.get("required", []), list):
            out.pop("required")  # Swagger-style `required: true` on a property
        for name in ("exclusiveMinimum", "exclusiveMaximum"):
            flag = out.get(name)
            if isinstance(flag, bool):
                del out[name]
                bound = name.replace("exclusiveM", "m")
                if flag and bound in out:
                    out[name] = out.pop(bound)
        bounds = _INT_BOUNDS.get(str(out.get("format")))
        if bounds and out.get("type") == "integer":
            out.setdefault("minimum", bounds[0])
            out.setdefault("maximum", bounds[1])
        for name in ONE:
            if name in node and isinstance(node[name], dict | bool):
                out[name] = self.convert(node[name], file, (*where, name))
        items = node.get("items")
        if isinstance(items, list):
            out["prefixItems"] = [self.convert(s, file, (*where, "items", i)) for i, s in enumerate(items)]
        elif items is not None:
            out["items"] = self.convert(items, file, (*where, "items"))
        for name in MANY:
            if isinstance(node.get(name), list):
                out[name] = [
                    self.convert(s, file, (*where, name, i), base_ref=name == "allOf")
                    for i, s in enumerate(node[name])
                ]
        for name in _MAP:
            if isinstance(node.get(name), dict):
                out[name] = {k: self.convert(s, file, (*where, name, k)) for k, s in node[name].items()}
        props = node.get("properties")
        if isinstance(props, dict):
            hidden = [k for k, s in props.items() if self._flag(s, file, where, WRITE_ONLY)]
            for k in hidden:
                out["properties"][k] = {"not": {}, "$comment": WRITE_ONLY}
            if hidden and "required" in out:
                out["required"] = [r for r in out["required"] if r not in hidden]
        disc = node.get("discriminator")
        if isinstance(disc, str):
            disc = {"propertyName": disc}  # Swagger 2.0 names only the property
        if isinstance(disc, dict) and isinstance(disc.get("propertyName"), str) and not base:
            self._discriminate(out, node, disc, file, where, key)
        if node.get("nullable") is True or node.get("x-nullable") is True:
            out = _nullable(out)
        return out

    def _flag(self, schema: Any, file: str, where: tuple[str | int, ...], name: str) -> bool:
        target, _ = self.target(schema, file, where)
        return isinstance(target, dict) and target.get(name) is True

    def _ref(self, ref: Any, file: str, where: tuple[str | int, ...], *, base: bool = False) -> str:
        target, key = self.docs.resolve(ref, file, where)
        has_disc = isinstance(target, dict) and isinstance(target.get("discriminator"), dict | str)
        # An allOf child refers to its parent's base: dispatching again would recurse forever.
        base = base and has_disc and "oneOf" not in target and "anyOf" not in target
        name_key = (key[0], key[1], base)
        if name_key in self._names:
            return self._names[name_key]
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", key[1].rsplit("/", 1)[-1] or "root") + (
            "__base" if base else ""
        )
        while name in self.defs:
            name += "_"
        self._names[name_key] = name
        self.defs[name] = {}
        if isinstance(target, dict) and "$ref" not in target:
            ptr: tuple[str | int, ...] = tuple(key[1].split("/")[1:])
            converted: Any = self._schema(target, key[0], ptr, key=key, base=base)
        else:
            converted = self.convert(target, key[0], where)
        self.defs[name] = converted
        self._refs_of[name] = set(_refs_in(converted))
        return name

    def _discriminate(
        self,
        out: dict[str, Any],
        node: dict[str, Any],
        disc: dict[str, Any],
        file: str,
        where: tuple[str | int, ...],
        key: Key | None,
    ) -> None:
        prop: str = disc["propertyName"]
        choices: list[tuple[str, str]] = []  # (value, def name)
        mapping: dict[str, Any] = disc["mapping"] if isinstance(disc.get("mapping"), dict) else {}
        for value, ref in mapping.items():
            ref = ref if "/" in str(ref) or "#" in str(ref) else f"{self._schemas}{ref}"
            choices.append((str(value), self._ref(ref, file, (*where, "discriminator", "mapping", value))))
        branches = node.get("oneOf") if isinstance(node.get("oneOf"), list) else node.get("anyOf")
        if isinstance(branches, list):
            if not all(isinstance(b, dict) and "$ref" in b for b in branches):
                return  # inline branches have no name to select by: keep plain oneOf/anyOf
            for b in branches:
                value = str(b["$ref"]).rsplit("/", 1)[-1]
                if all(v != value for v, _ in choices):
                    choices.append((value, self._ref(b["$ref"], file, where)))
            out.pop("oneOf", None)
            out.pop("anyOf", None)
        elif key is not None:
            for value, child in self._implicit(key):
                if all(v != value for v, _ in choices):
                    choices.append((value, self._ref("#" + child[1], child[0], where)))
            own = key[1].rsplit("/", 1)[-1]
            if all(v != own for v, _ in choices):
                choices.append((own, self._ref("#" + key[1], key[0], where, base=True)))
        if not choices:
            return
        chain: dict[str, Any] = {
            "properties": {prop: {"enum": [v for v, _ in choices], "$comment": DISCRIMINATOR}},
            "required": [prop],
            "$comment": DISCRIMINATOR,
        }
        for value, name in reversed(choices):
            chain = {
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": {"$ref": "#/$defs/" + name},
                "else": chain,
            }
        out["allOf"] = [*out.get("allOf", []), chain]

    def _implicit(self, parent: Key) -> list[tuple[str, Key]]:
        """Component schemas whose ``allOf`` refers to ``parent``: its implicit discriminator mapping."""
        file = parent[0]
        if file not in self._children:
            found: dict[str, list[tuple[str, Key]]] = {}
            doc = self.docs.document(file)
            for base in (("components", "schemas"), ("definitions",)):
                table: Any = doc
                for part in base:
                    table = table.get(part) if isinstance(table, dict) else None
                if not isinstance(table, dict):
                    continue
                for name, schema in table.items():
                    all_of = schema.get("allOf") if isinstance(schema, dict) else None
                    for item in all_of if isinstance(all_of, list) else ():
                        if isinstance(item, dict) and isinstance(item.get("$ref"), str):
                            _, pkey = self.docs.resolve(item["$ref"], file, (*base, name, "allOf"))
                            ptr = "/" + "/".join(
                                p.replace("~", "~0").replace("/", "~1") for p in (*base, name)
                            )
                            found.setdefault(pkey[1], []).append((name, (file, ptr)))
            self._children[file] = found
        return self._children[file].get(parent[1], [])


def _nullable(out: dict[str, Any]) -> dict[str, Any]:
    typ = out.get("type")
    if isinstance(typ, str):
        out["type"] = [typ, "null"]
    elif isinstance(typ, list):
        if "null" not in typ:
            out["type"] = [*typ, "null"]
    else:
        return {"anyOf": [{"type": "null"}, out]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            yield ref[8:]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


def is_binary(schema: Any) -> bool:
    """Whether a (dereferenced) schema describes raw bytes rather than JSON."""
    return isinstance(schema, dict) and (
        (schema.get("format") in ("binary", "byte") and schema.get("type") in ("string", None))
        or schema.get("type") == "file"
    )
