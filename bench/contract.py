"""Contract validation speed: responses validated per second for a ~1 KB JSON body.

Run from the repository root: ``.venv/bin/python bench/contract.py [--seconds 1.0] [--repeat 5]``.
Prints the median of several runs for each body validator (jsonschema-rs, jsonschema with a prebuilt
validator, fastjsonschema when installed) and for the whole ``Contract.validate`` path (routing, status,
headers, parsing, schema). The goal is >= 5,000 responses/s through ``Contract.validate``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from paritycheck.contract import load_spec
from paritycheck.models import Reply

SPEC = """
openapi: 3.0.3
info: {title: bench, version: "1"}
servers: [{url: /api/v1}]
paths:
  /goals/{goal_id}:
    get:
      responses:
        "200":
          description: ok
          headers:
            X-Rate-Limit: {required: true, schema: {type: integer}}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Page"}
components:
  schemas:
    Page:
      type: object
      required: [data, total]
      properties:
        total: {type: integer, format: int32}
        next: {type: string, nullable: true}
        data: {type: array, items: {$ref: "#/components/schemas/Goal"}}
    Goal:
      type: object
      required: [id, title, created_at, owner]
      properties:
        id: {type: string, format: uuid}
        title: {type: string, maxLength: 200}
        done: {type: boolean}
        progress: {type: number, minimum: 0, maximum: 1}
        created_at: {type: string, format: date-time}
        tags: {type: array, items: {type: string}}
        owner: {type: object, required: [email], properties: {email: {type: string, format: email}}}
"""


def body() -> dict[str, Any]:
    goal = {
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "title": "Ship the contract checker",
        "done": False,
        "progress": 0.5,
        "created_at": "2024-05-01T12:00:00Z",
        "tags": ["a", "b"],
        "owner": {"email": "dev@example.com"},
    }
    return {"total": 5, "next": None, "data": [goal] * 5}


def rate(fn: Callable[[], Any], seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        n += 100
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "bench.yaml"
        spec_file.write_text(SPEC)
        contract = load_spec(spec_file)
    op = contract.operation("GET", "/api/v1/goals/1")
    assert op is not None
    raw = json.dumps(body()).encode()
    reply = Reply(200, (("content-type", "application/json"), ("x-rate-limit", "10")), raw)
    assert contract.validate("GET", "/api/v1/goals/1", reply) == []
    print(f"body: {len(raw)} bytes")

    # The same converted schema for every library, so only the validator differs.
    from paritycheck.contract.load import Documents
    from paritycheck.contract.schema import Converter

    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "bench.yaml"
        spec_file.write_text(SPEC)
        docs = Documents(spec_file)
        conv = Converter(docs, version="3.0.3")
        root = conv.root({"$ref": "#/components/schemas/Page"}, str(docs.root), ())

    instance = body()
    cases: dict[str, Callable[[], Any]] = {
        "Contract.validate (parse + all checks)": lambda: contract.validate("GET", "/api/v1/goals/1", reply)
    }
    import jsonschema_rs

    rs = jsonschema_rs.validator_for(root, validate_formats=True)
    cases["jsonschema-rs is_valid"] = lambda: rs.is_valid(instance)
    import jsonschema

    py = jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    cases["jsonschema (prebuilt) iter_errors"] = lambda: list(py.iter_errors(instance))
    try:
        import fastjsonschema
    except ImportError:
        print("fastjsonschema: not installed, skipped")
    else:
        draft7 = json.loads(json.dumps(root).replace("$defs", "definitions"))
        draft7["$schema"] = "http://json-schema.org/draft-07/schema#"
        fast = fastjsonschema.compile(draft7)
        cases["fastjsonschema (draft-07)"] = lambda: fast(instance)

    for name, fn in cases.items():
        runs = [rate(fn, args.seconds) for _ in range(args.repeat)]
        per = 1e6 / statistics.median(runs)
        print(
            f"{name:45s} {statistics.median(runs):>10,.0f} /s  ({per:,.1f} us each, median of {args.repeat})"
        )


if __name__ == "__main__":
    main()
