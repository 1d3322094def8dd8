"""A loaded contract: operations with compiled response validators, and validating one reply."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from paritycheck.common.jsonparse import loads
from paritycheck.config import NormaliseConfig
from paritycheck.contract.load import Documents, mapping
from paritycheck.contract.match import Route, Router, base_paths, server_base
from paritycheck.contract.schema import Converter, is_binary
from paritycheck.contract.validator import Check, compile_schema, invalid_schema_check, shorten

#: A path item's operations; ``query`` is OpenAPI 3.2's (3.2 also names others in additionalOperations).
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")
_BINARY_TYPES = ("image/", "audio/", "video/", "font/")
_BINARY_MEDIA = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "multipart/form-data",
    }
)
_MAX_VALUE = 200

Where = tuple[str | int, ...]


class Response(Protocol):
    """What validation needs from a reply (models.Reply and models.Recorded both fit)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def body(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a response breaks the contract.

    ``path`` is a JSONPath into the body (``$.data.items[0].id``), or ``status``, ``content-type``,
    ``header:<name>``. ``value`` is the offending value, bounded and redacted.
    """

    operation: str
    status: int
    path: str
    keyword: str
    message: str
    value: Any = None


@dataclass(slots=True)
class Media:
    """A documented media type of one response; ``check`` is None when the body is not validated.

    ``schema`` is the self-contained JSON Schema ``check`` was compiled from (kept so that a view of
    the contract, such as the normalised one, can be derived without reading the spec again).
    """

    media: str
    check: Check | None
    schema: Any = None


@dataclass(slots=True)
class Header:
    name: str
    required: bool
    check: Check | None
    types: tuple[str, ...]


@dataclass(slots=True)
class ResponseSpec:
    code: str
    media: dict[str, Media] = field(default_factory=dict)
    headers: list[Header] = field(default_factory=list)


@dataclass(slots=True)
class Operation:
    """A documented operation; ``key`` is ``GET /api/v1/goals/{goal_id}`` (base path included)."""

    method: str
    template: str
    path_template: str
    responses: dict[str, ResponseSpec]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def response_for(self, status: int) -> ResponseSpec | None:
        """The documented response for ``status``: exact code, then ``2XX``, then ``default``."""
        code = str(status)
        return (
            self.responses.get(code) or self.responses.get(code[:1] + "XX") or self.responses.get("default")
        )


def _shown(value: Any, *, key: str | None = None, header: str | None = None) -> Any:
    """The offending value as it may be shown: redacted by key or header name, then bounded."""
    try:
        from paritycheck.compare import redact
    except ImportError:
        return _bound(value)
    if header is not None:
        return redact.header_value(header, str(value))
    if key is not None and value is not None and type(value) is not bool and redact.is_secret_name(key):
        return redact.REDACTED
    return _bound(redact.json_value(value))


def _bound(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_VALUE:
        return value[: _MAX_VALUE - 3] + "..."
    if isinstance(value, dict | list) and len(json.dumps(value, default=str)) > 2 * _MAX_VALUE:
        return (
            f"<object with {len(value)} keys>"
            if isinstance(value, dict)
            else f"<array of {len(value)} items>"
        )
    return value


class Contract:
    """An OpenAPI description, ready to match requests and validate replies.

    ``digest`` is the sha256 of the files read; ``normalised`` is None for the raw contract (what a
    client sees on the wire), else the ``[normalise]`` rules this view applies (see normalised.py).
    """

    def __init__(
        self,
        source: str,
        *,
        version: str,
        title: str,
        operations: list[Operation],
        bases: list[str],
        digest: str = "",
        normalised: NormaliseConfig | None = None,
    ):
        self.source = source
        self.version = version
        self.title = title
        self.operations = operations
        self.bases = bases
        self.digest = digest
        self.normalised = normalised
        routes: dict[str, dict[str, Operation]] = {}
        for op in operations:
            routes.setdefault(op.path_template, {})[op.method] = op
        self._router = Router([Route(t, m) for t, m in routes.items()], bases)

    @property
    def mode(self) -> str:
        """``raw`` or ``normalised``."""
        return "raw" if self.normalised is None else "normalised"

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation documented for this request, or None when it is undocumented."""
        op: Operation | None = self._router.find(method, path)
        return op

    def endpoint_name(self, method: str, path: str) -> str | None:
        """The endpoint a request is named by: its operation (``GET /api/v1/kpis/{kpi_id}``, base path
        included), or, for a method the path does not document, that method on the path's template; None
        when no documented path matches."""
        op = self.operation(method, path)
        if op is not None:
            return op.key
        route = self._router.route(path)
        if route is None:
            return None
        documented: Operation = next(iter(route.methods.values()))
        return f"{method.upper()} {documented.template}"

    def endpoint_patterns(self) -> list[str]:
        """Every operation as ``METHOD /template``, most specific template first, for endpoint grouping.

        The order is the router's, so a first-match grouping (``/users/me`` before ``/users/{id}``)
        names each request after the operation it is validated against.
        """
        order = {route.template: i for i, route in enumerate(self._router.routes)}
        ranked = sorted(self.operations, key=lambda op: order.get(op.path_template, len(order)))
        return [op.key for op in ranked]

    def validate(self, method: str, path: str, reply: Response) -> list[Violation] | None:
        """Violations of ``reply`` to this request; None when the request is undocumented."""
        op = self.operation(method, path)
        if op is None:
            return None
        return validate_reply(op, reply)


def validate_reply(op: Operation, reply: Response) -> list[Violation]:
    """Check status, content type, headers and JSON body of one reply against ``op``."""
    status = reply.status
    if status <= 0:
        return []  # a transport failure is not a contract matter
    found: list[Violation] = []

    def add(
        path: str,
        keyword: str,
        message: str,
        value: Any = None,
        *,
        key: str | None = None,
        header: str | None = None,
    ) -> None:
        shown = _shown(value, key=key, header=header) if value is not None else None
        found.append(
            Violation(op.key, status, path, keyword, shorten(message, value, shown, keyword=keyword), shown)
        )

    spec = op.response_for(status)
    if spec is None:
        add(
            "status",
            "status",
            f"status {status} is not documented (documented: {', '.join(op.responses)})",
            status,
        )
        return found
    headers: dict[str, str] = {}
    for name, value in reply.headers:
        headers.setdefault(name.lower(), value)
    for hdr in spec.headers:
        _check_header(hdr, headers.get(hdr.name), add)
    body = reply.body or b""
    if not body or not spec.media or method_has_no_body(op.method):
        return found
    ctype = headers.get("content-type")
    if ctype is None:
        add("content-type", "content-type", "response has a body but no Content-Type header")
        return found
    media = _media_for(spec.media, ctype)
    if media is None:
        add(
            "content-type",
            "content-type",
            f"content type {ctype!r} is not documented for {status} (documented: {', '.join(spec.media)})",
            ctype,
        )
        return found
    if media.check is None or _binary_media(ctype):
        return found
    try:
        instance = loads(body)
    except ValueError as exc:
        add("$", "json", f"body is not valid JSON: {exc}")
        return found
    seen: set[tuple[str, str, str]] = set()
    for failure in media.check(instance):
        # The same failure can be reached along two evaluation paths (a $ref used twice).
        ident = (failure.path, failure.keyword, failure.message)
        if ident not in seen:
            seen.add(ident)
            add(failure.path, failure.keyword, failure.message, failure.value, key=failure.key)
    return found


def method_has_no_body(method: str) -> bool:
    return method == "HEAD"


def _check_header(hdr: Header, value: str | None, add: Callable[..., None]) -> None:
    where = f"header:{hdr.name}"
    if value is None:
        if hdr.required:
            add(where, "header", f"required header {hdr.name!r} is missing")
        return
    if hdr.check is None:
        return
    converted = _from_header(value, hdr.types)
    for failure in hdr.check(converted):
        add(where, failure.keyword, f"header {hdr.name!r}: {failure.message}", converted, header=hdr.name)


def _from_header(value: str, types: tuple[str, ...]) -> Any:
    """Header values are strings on the wire: convert to the schema's type before validating."""
    text = value.strip()
    for typ in types:
        try:
            if typ == "integer":
                return int(text)
            if typ == "number":
                return float(text)
            if typ == "boolean" and text.lower() in ("true", "false"):
                return text.lower() == "true"
            if typ == "array":
                return [part.strip() for part in text.split(",")]
        except ValueError:
            continue
    return text


def _media_for(table: Mapping[str, Media], ctype: str) -> Media | None:
    media = ctype.split(";", 1)[0].strip().lower()
    major = media.split("/", 1)[0]
    return table.get(media) or table.get(f"{major}/*") or table.get("*/*")


def _binary_media(ctype: str) -> bool:
    media = ctype.split(";", 1)[0].strip().lower()
    return media.startswith(_BINARY_TYPES) or media in _BINARY_MEDIA


def _json_media(media: str) -> bool:
    return media == "*/*" or media.endswith(("/json", "+json")) or media in ("application/*", "text/json")


def load_spec(path: str | Path) -> Contract:
    """Read, resolve and compile an OpenAPI 3.0/3.1/3.2 or Swagger 2.0 description."""
    docs = Documents(Path(path))
    root = str(docs.root)
    doc = docs.document(root)
    if not isinstance(doc, dict):
        raise docs.error(
            root, (), "an OpenAPI description must be an object", hint="check that this is the spec file"
        )
    raw_version = doc.get("openapi", doc.get("swagger"))
    if raw_version is None:
        if "$schema" in doc:
            raise docs.error(
                root,
                (),
                "this is a JSON Schema, not an OpenAPI description",
                hint="pass the API's OpenAPI file (it starts with openapi: or swagger:)",
            )
        raise docs.error(
            root,
            (),
            "no 'openapi' or 'swagger' version field",
            hint="add openapi: 3.0.3 (or 3.1.0) at the top",
        )
    version = str(raw_version)
    if not version.startswith(("2.", "3.0", "3.1", "3.2")):
        raise docs.error(
            root,
            ("openapi",),
            f"unsupported version {version!r}",
            hint="use OpenAPI 3.0, 3.1, 3.2 or Swagger 2.0",
        )
    docs.check_refs()
    swagger = version.startswith("2.")
    if swagger:
        base = doc.get("basePath")
        bases = [("/" + base.strip("/")) if isinstance(base, str) and base.strip("/") else ""]
    else:
        bases = base_paths(doc.get("servers")) or [""]
    info = doc.get("info")
    title = str(info.get("title", "")) if isinstance(info, dict) else ""
    conv = Converter(docs, version=version)
    builder = _Builder(docs, conv, swagger=swagger, produces=doc.get("produces"))
    operations: list[Operation] = []
    paths = mapping(doc.get("paths"), docs, root, ("paths",), what="paths")
    for template, raw_item in paths.items():
        where: Where = ("paths", template)
        item, ifile = docs.deref(raw_item, root, where)
        item = mapping(item, docs, ifile, where, what="a path item")
        for method, op_where, raw_op in _operations(item, where):
            op = mapping(raw_op, docs, ifile, op_where, what="an operation")
            base = bases[0] if swagger else server_base(op.get("servers"), item.get("servers")) or bases[0]
            if base not in bases:
                bases.append(base)  # a path's or an operation's own server: its requests match too
            full = base + template if template != "/" else base or "/"
            operations.append(
                Operation(method.upper(), full, template, builder.responses(op, ifile, op_where))
            )
    return Contract(
        str(path), version=version, title=title, operations=operations, bases=bases, digest=docs.digest()
    )


def _operations(item: Mapping[str, Any], where: Where) -> list[tuple[str, Where, Any]]:
    """(method, where, operation) of a path item: the fixed fields, then 3.2's additionalOperations."""
    found: list[tuple[str, Where, Any]] = [(m, (*where, m), item[m]) for m in METHODS if m in item]
    extra = item.get("additionalOperations")
    if isinstance(extra, dict):
        for name, op in extra.items():
            if isinstance(name, str) and name.strip() and name.lower() not in METHODS:
                found.append((name.strip().lower(), (*where, "additionalOperations", name), op))
    return found


class _Builder:
    """Builds and compiles the response specs of operations."""

    def __init__(self, docs: Documents, conv: Converter, *, swagger: bool, produces: Any) -> None:
        self.docs, self.conv, self.swagger = docs, conv, swagger
        self.produces = produces if isinstance(produces, list) and produces else ["application/json"]

    def compile(self, schema: Any, file: str, where: Where) -> tuple[Any, Check]:
        """The self-contained JSON Schema for ``schema`` and its compiled check."""
        root = self.conv.root(schema, file, where)
        try:
            return root, compile_schema(root)
        except ValueError as exc:
            # Only the operations that use this schema become unusable; the rest of the spec is checked.
            where_text = self.docs.error(file, where, str(exc), hint="").message
            return root, invalid_schema_check(where_text)

    def responses(self, op: Mapping[str, Any], file: str, where: Where) -> dict[str, ResponseSpec]:
        out: dict[str, ResponseSpec] = {}
        where = (*where, "responses")
        produces: list[Any] = op["produces"] if isinstance(op.get("produces"), list) else self.produces
        for code, raw in mapping(op.get("responses"), self.docs, file, where, what="responses").items():
            code = code.upper() if code.lower() != "default" else "default"
            rwhere = (*where, code)
            resp, rfile = self.docs.deref(raw, file, rwhere)
            resp = mapping(resp, self.docs, rfile, rwhere, what="a response")
            spec = ResponseSpec(code)
            if self.swagger:
                if "schema" in resp:
                    for media in produces:
                        spec.media[str(media).split(";")[0].lower()] = self.media(
                            str(media), resp["schema"], rfile, (*rwhere, "schema")
                        )
            else:
                content = mapping(resp.get("content"), self.docs, rfile, (*rwhere, "content"), what="content")
                for media, mt in content.items():
                    mwhere = (*rwhere, "content", media)
                    mt = mapping(mt, self.docs, rfile, mwhere, what="a media type")
                    spec.media[media.split(";")[0].strip().lower()] = self.media(
                        media, mt.get("schema"), rfile, (*mwhere, "schema")
                    )
            headers = mapping(resp.get("headers"), self.docs, rfile, (*rwhere, "headers"), what="headers")
            for name, raw_hdr in headers.items():
                if name.lower() == "content-type":
                    continue  # OpenAPI: a Content-Type header definition is ignored
                hwhere = (*rwhere, "headers", name)
                hdr, hfile = self.docs.deref(raw_hdr, rfile, hwhere)
                hdr = mapping(hdr, self.docs, hfile, hwhere, what="a header")
                spec.headers.append(self.header(name, hdr, hfile, hwhere))
            out[code] = spec
        return out

    def media(self, media: str, schema: Any, file: str, where: Where) -> Media:
        key = media.split(";")[0].strip().lower()
        if schema is None or _binary_media(key) or not _json_media(key):
            return Media(key, None)
        target, _ = self.conv.target(schema, file, where)
        if is_binary(target):
            return Media(key, None)
        root, check = self.compile(schema, file, where)
        return Media(key, check, root)

    def header(self, name: str, hdr: Mapping[str, Any], file: str, where: Where) -> Header:
        schema: Any = hdr if self.swagger else hdr.get("schema")
        if schema is None and isinstance(hdr.get("content"), dict) and hdr["content"]:
            schema = next(iter(hdr["content"].values())).get("schema")
        if self.swagger:
            schema = {k: v for k, v in hdr.items() if k not in ("description", "required")}
        if not isinstance(schema, dict):
            return Header(name.lower(), hdr.get("required") is True, None, ())
        target, _ = self.conv.target(schema, file, where)
        typ = target.get("type") if isinstance(target, dict) else None
        types = tuple(t for t in (typ if isinstance(typ, list) else [typ]) if isinstance(t, str))
        _, check = self.compile(schema, file, (*where, "schema"))
        return Header(name.lower(), hdr.get("required") is True, check, types)
