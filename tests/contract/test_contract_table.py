"""The contract terminal table: capture-mode headers, and the leading violation messages per operation."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from paritycheck.contract import load_spec
from paritycheck.contract.report import check_captures
from tests.harutil import entry, write_har

SPEC = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /items/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties: {id: {type: integer}, name: {type: string}}
"""


def _table(report: object) -> str:
    console = Console(width=200, color_system=None, record=True)
    console.print(report.to_table())  # type: ignore[attr-defined]
    return console.export_text()


def test_capture_mode_shows_recorded_columns_even_when_nothing_matched(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    har = write_har(tmp_path / "c.har", [entry("GET", "http://x/elsewhere")])
    text = _table(check_captures(load_spec(tmp_path / "spec.yaml"), [har]))
    assert "recorded violations" in text and "legacy violations" not in text


def test_the_table_shows_the_leading_violation_messages(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    entries = [entry("GET", f"http://x/items/{i}", response='{"id": "seven"}') for i in range(3)]
    entries.append(entry("GET", "http://x/items/9", response='{"id": 9, "name": "ok"}'))
    text = _table(check_captures(load_spec(tmp_path / "spec.yaml"), [write_har(tmp_path / "c.har", entries)]))
    assert "leading violations" in text
    assert "3× 200 $.id:" in text and "3× 200 $.name:" in text
