"""The [gate] configuration section and its [[gate.endpoint]] rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck import config as cfg
from paritycheck.errors import ConfigError


def load(tmp_path: Path, text: str) -> cfg.Config:
    path = tmp_path / "paritycheck.toml"
    path.write_text(text, encoding="utf-8")
    return cfg.load(path)


def test_defaults() -> None:
    gate = cfg.Config().gate
    assert (gate.min_parity, gate.max_failed, gate.max_p95_ratio, gate.max_p95_ms) == (99.9, 0.1, 1.10, 500.0)
    assert (gate.min_samples, gate.min_consecutive_passes, gate.known_differences) == (
        30,
        0,
        "known-differences.toml",
    )
    assert gate.endpoint == () and gate.max_findings == {} and gate.max_breaking == -1


def test_max_findings_per_grade(tmp_path: Path) -> None:
    config = load(
        tmp_path, "[gate]\nmax_findings = { server-error = 0, breaking = 3, accepts-refused = -1 }\n"
    )
    assert config.gate.max_findings == {"server-error": 0, "breaking": 3, "accepts-refused": -1}
    table = load(tmp_path, "[gate.max_findings]\nbehavioural = 10\n")
    assert table.gate.max_findings == {"behavioural": 10}


def test_gate_section_with_endpoint_rules(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[gate]
min_parity = 99.5
max_p95_ms = 200
min_consecutive_passes = 3
known_differences = "ops/known.toml"

[[gate.endpoint]]
match = "* /api/v1/auth/*"
min_parity = 100

[[gate.endpoint]]
match = "GET /api/v1/reports/**"
max_p95_ratio = 1.5
min_samples = 10
""",
    )
    gate = config.gate
    assert gate.min_parity == 99.5 and gate.max_p95_ms == 200.0 and gate.min_consecutive_passes == 3
    assert gate.known_differences == "ops/known.toml"
    auth, reports = gate.endpoint
    assert (auth.match, auth.min_parity, auth.max_failed) == ("* /api/v1/auth/*", 100.0, None)
    assert (reports.max_p95_ratio, reports.min_samples, reports.min_parity) == (1.5, 10, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gate]\nmin_parity = 101\n", r"gate.min_parity must be between 0 and 100"),
        ("[gate]\nmax_failed = -1\n", r"gate.max_failed must be between 0 and 100"),
        ("[gate]\nmin_samples = 0\n", r"gate.min_samples must be at least 1"),
        ("[gate]\nconfidence = 1.0\n", r"gate.confidence must be"),
        ("[gate]\nmin_consecutive_passes = -2\n", r"gate.min_consecutive_passes must be at least 0"),
        ('[gate]\nmin_parity = "high"\n', r"gate.min_parity must be number"),
        ("[gate]\nmax_p95 = 1\n", r"unknown key 'gate.max_p95'"),
        ("[[gate.endpoint]]\nmin_parity = 100\n", r"gate.endpoint\[0\].match is missing"),
        ('[[gate.endpoint]]\nmatch = "auth"\n', r"gate.endpoint\[0\].match 'auth' is not 'METHOD /path'"),
        (
            '[[gate.endpoint]]\nmatch = "GET /a"\nmax_p95_ratio = -1\n',
            r"gate.endpoint\[0\].max_p95_ratio must be",
        ),
        ('[[gate.endpoint]]\nmatch = "GET /a"\nignore = []\n', r"unknown key 'gate.endpoint\[0\].ignore'"),
        ("[gate]\nmax_findings = { breakng = 0 }\n", r"gate.max_findings has no 'breakng'.*"),
        ("[gate]\nmax_findings = { breaking = -2 }\n", r"gate.max_findings.breaking must be at least -1"),
        ('[gate]\nmax_findings = { breaking = "none" }\n', r"gate.max_findings.breaking must be integer"),
        ("[gate]\nmax_findings = 0\n", r"gate.max_findings must be table"),
        ("[gate]\nmax_breaking = -3\n", r"gate.max_breaking must be at least -1"),
    ],
)
def test_bad_gate_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, text)
    assert str(tmp_path / "paritycheck.toml") in str(info.value)
    assert info.value.hint
