"""Every reading command gives the same answer on a PostgreSQL store as on a SQLite one."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import shardcase as sc

from paritycheck.cli import cli

SPEC = """
openapi: 3.0.3
info: {title: items, version: "1"}
paths:
  /items/{n}:
    get:
      parameters: [{name: n, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id, value]
                properties: {id: {type: integer}, value: {type: integer, maximum: 2}}
"""


def _normal(text: str) -> str:
    """Output with what legitimately differs between two stores removed: ids, times, locations."""
    text = re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.]+(\+00:00|Z)?", "T", text)
    text = re.sub(r"(postgresql://\S+|/tmp/\S+)", "DB", text)
    return re.sub(r"\d+(\.\d+)? ?ms", "ms", text)


def _no_latency(markdown: str) -> str:
    """The Markdown report without its latency section, which depends on how fast each run went."""
    return re.sub(r"### Latency regressions.*?(?=\n### |\n_|\Z)", "", markdown, flags=re.S)


def _md_rows(markdown: str) -> list[list[str]]:
    """The Markdown report's endpoint rows: endpoint and counts (values, noise counts and latency
    depend on timing, which differs between two runs on a loaded machine)."""
    rows = []
    for line in _no_latency(markdown).splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.split("|")[1:5]])
    return rows


def _timeless(value: Any) -> Any:
    """A JSON document without latency figures (two runs never take the same time) and without the
    example values of difference groups and findings (the first to arrive, which varies from run to
    run)."""
    if isinstance(value, dict):
        return {
            k: _timeless(v)
            for k, v in value.items()
            if k not in ("legacy", "candidate", "exchange_id")
            and not any(word in k for word in ("p95", "p50", "latency", "_ms", "started", "ended"))
        }
    if isinstance(value, list):
        return [_timeless(v) for v in value if not (isinstance(v, dict) and "p95" in str(v.get("name")))]
    return value


def test_report_gate_history_contract_noise_suggest_agree(tmp_path: Path, pg_dsn: str) -> None:
    har = sc.capture(tmp_path / "c.har")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    lite = tmp_path / "r.db"
    with sc.backends() as urls:
        for db in (lite, pg_dsn):
            result = sc.run(sc.replay_args(har, db, *urls, "--contract", str(spec)), tmp_path)
            assert result.returncode == 1, result.stderr
    runner = CliRunner()
    commands = [
        ["gate", "--json"],
        ["history", "--json"],
        ["noise", "--json"],
        ["suggest"],
        ["contract", str(spec), "--json"],
        ["report", "--json", "{out}/summary.json", "--html", "{out}/r.html", "--markdown", "{out}/r.md"],
    ]
    for command in commands:
        outputs = []
        for name, db in (("lite", lite), ("pg", pg_dsn)):
            out = tmp_path / name
            out.mkdir(exist_ok=True)
            args = [a.replace("{out}", str(out)) for a in command]
            result = runner.invoke(cli, [*args, "--db", str(db)], env={"COLUMNS": "200"})
            assert result.exit_code in (0, 1), (command, result.output)
            text = result.output
            if command[-1] == "--json":
                text = json.dumps(_timeless(json.loads(text)), indent=1, sort_keys=True)
            outputs.append((result.exit_code, _normal(text)))
        if outputs[0] != outputs[1]:
            import difflib

            a, b = (o[1].splitlines() for o in outputs)
            print("\n".join(difflib.unified_diff(a, b, lineterm="")))
        assert outputs[0] == outputs[1], command
    for name in ("summary.json", "r.md"):
        texts = [(tmp_path / side / name).read_text(encoding="utf-8") for side in ("lite", "pg")]
        if name.endswith(".json"):
            a, b = (json.loads(t) for t in texts)
            assert _timeless(a) == _timeless(b)
        else:
            assert _md_rows(texts[0]) == _md_rows(texts[1])
