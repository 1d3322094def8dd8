"""Config loading: defaults, file discovery, strict validation naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck import config as cfg
from paritycheck.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file(tmp_path: Path) -> None:
    config = cfg.load(cwd=tmp_path)
    assert config.source is None
    assert config.replay == cfg.ReplayConfig()
    assert config.normalise.key_case == "snake"


def test_paritycheck_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.paritycheck.backends]\nlegacy = "http://from-pyproject"\n')
    write(tmp_path / "paritycheck.toml", '[backends]\nlegacy = "http://from-own-file"\n')
    assert cfg.load(cwd=tmp_path).backends.legacy.url == "http://from-own-file"
    (tmp_path / "paritycheck.toml").unlink()
    config = cfg.load(cwd=tmp_path)
    assert config.backends.legacy.url == "http://from-pyproject"
    assert config.source is not None and "pyproject.toml" in config.source


def test_full_example_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_TOKEN", "s3cret")
    path = write(
        tmp_path / "p.toml",
        """
[backends]
candidate = "http://127.0.0.1:8000"
[backends.legacy]
url = "http://127.0.0.1:5000/prefix"
[backends.legacy.headers]
Authorization = "Bearer ${LEGACY_TOKEN}"

[replay]
concurrency = 4
rate = 10
timeout = 2.5
allow_writes = true

[normalise]
key_case = "camel"
envelope = "none"
timestamps = false
null_equals_missing = true
float_tolerance = 1e-9
ignore = ["$.meta.request_id", "$..trace_id"]
unordered = ["$.data[*].tags"]
compare_headers = ["content-type"]

[[endpoint]]
match = "GET /api/v1/kpis/{id}/tags"
unordered = ["$.data"]
""",
    )
    config = cfg.load(path)
    assert config.backends.legacy.url == "http://127.0.0.1:5000/prefix"
    assert config.backends.legacy.headers == {"Authorization": "Bearer s3cret"}
    assert config.backends.candidate.url == "http://127.0.0.1:8000"
    assert config.replay.rate == 10.0 and isinstance(config.replay.rate, float)
    assert config.normalise.ignore == ("$.meta.request_id", "$..trace_id")
    assert config.endpoint[0].unordered == ("$.data",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[replay]\nconcurency = 4\n", "replay.concurency"),
        ("[replay]\nconcurrency = 'four'\n", "replay.concurrency"),
        ("[replay]\nallow_writes = 1\n", "replay.allow_writes"),
        ("[normalise]\nkey_case = 'kebab'\n", "normalise.key_case"),
        ("[normalise]\nignore = ['$.a[']\n", "normalise.ignore[0]"),
        ("[normalise]\nignore = '$.a'\n", "normalise.ignore"),
        ("[[endpoint]]\nunordered = ['$.x']\n", "endpoint[0].match"),
        ("[replay]\nconcurrency = 0\n", "replay.concurrency"),
        ("[replay]\ntimeout = 0\n", "replay.timeout"),
        ("[replay]\nclient = 'curl'\n", "replay.client"),
        ("[bogus]\nx = 1\n", "bogus"),
        ("[backends.legacy]\nurl = 'http://x'\nheaders = { A = 1 }\n", "backends.legacy.headers"),
        (
            "[backends.legacy.headers]\nA = '${PARITYCHECK_SURELY_UNSET_VAR}'\n",
            "PARITYCHECK_SURELY_UNSET_VAR",
        ),
        ("not = = toml\n", "not valid TOML"),
        ("[replay]\nconcurrency = 99999999999999999999\n", "replay.concurrency"),
        ("[[endpoint]]\nmatch = 'GIT /x'\n", "endpoint[0].match"),
        ("[[endpoint]]\nmatch = 'no-slash'\n", "endpoint[0].match"),
        ("[replay]\ninclude = ['GET x']\n", "replay.include[0]"),
        ("[[correlate]]\nmatch = 'POST'\nresponse = '$.id'\n", "correlate[0].match"),
        ("[backends]\nlegacy = 'http://127.0.0.1:5000/?tenant=a'\n", "backends.legacy"),
        ("[backends]\ncandidate = 'http://127.0.0.1:5000/#x'\n", "backends.candidate"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        cfg.load(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message
    assert info.value.hint


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        cfg.load(tmp_path / "nope.toml")


def test_credentials_in_a_backend_url_are_refused_and_never_shown(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", "[backends]\nlegacy = 'http://admin:hunter2@127.0.0.1:5000/v1'\n")
    with pytest.raises(ConfigError) as info:
        cfg.load(path)
    message = str(info.value)
    assert str(path) in message and "backends.legacy" in message and "credentials" in message
    assert "hunter2" not in message and "admin" not in message and "hunter2" not in (info.value.hint or "")
    assert "\n" not in message


def test_a_nested_inline_table_in_the_auth_body_is_sent_as_nested_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from paritycheck.run import config_record
    from paritycheck.session.auth import Login

    monkeypatch.setenv("REPLAY_PASSWORD", "s3cret-pw")
    (tmp_path / "paritycheck.toml").write_text(
        '[auth]\npath = "/login"\n'
        'body = { user = { email = "a@example.com", password = "${REPLAY_PASSWORD}" },'
        ' scopes = ["read", "write"], remember = true, ttl = 3600 }\n'
    )
    config = cfg.load(cwd=tmp_path)
    login = Login(config.auth, None, normalise=config.normalise)  # type: ignore[arg-type]
    assert json.loads(login._request.body or b"") == {
        "user": {"email": "a@example.com", "password": "s3cret-pw"},
        "scopes": ["read", "write"],
        "remember": True,
        "ttl": 3600,
    }
    # What a run stores of the configuration holds no password, whether written or read from the env.
    (tmp_path / "paritycheck.toml").write_text(
        '[auth]\npath = "/login"\nbody = { user = { email = "a@example.com", password = "hunter22" } }\n'
        '[explore.credentials]\napi_key = "k-123456"\n'
    )
    stored = json.dumps(config_record(cfg.load(cwd=tmp_path)))
    assert "hunter22" not in stored and "k-123456" not in stored and "a@example.com" in stored


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[auth]\npath = "/l"\nbody = { when = 2024-01-01 }\n', "auth.body"),
        ('[explore.credentials]\nkey = { legacy = "a" }\n', "explore.credentials.key must name legacy and"),
        ('[backends.legacy]\nurl = "http://x"\nheaders = { X-Key = 1 }\n', "backends.legacy.headers.X-Key"),
    ],
)
def test_values_a_table_cannot_hold_are_named(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "paritycheck.toml").write_text(text)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        cfg.load(cwd=tmp_path)
