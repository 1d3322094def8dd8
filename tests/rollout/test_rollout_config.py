"""``[rollout]``: the seed-style plan loads; every mistake is one error naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from paritycheck.compare import GRADES
from paritycheck.config_rollout import FINDING_GRADES
from paritycheck.errors import ConfigError
from tests.rollout.rollouthelpers import SEED, plan


def test_the_seed_schedule_loads(tmp_path: Path) -> None:
    config = plan(tmp_path)
    steps = config.rollout.step
    assert [s.share for s in steps] == [10, 25, 50, 100]
    assert [s.label for s in steps] == ["10%", "25%", "50%", "100%"]
    assert steps[0].seconds == 86400 and steps[3].seconds == 3 * 86400
    assert steps[0].max_error_rate == 0.1 and steps[1].max_p95_ratio == 1.10
    assert steps[2].max_new_findings == 0
    assert config.rollout.rollback.max_error_rate == 5.0 and config.rollout.page.max_error_rate == 1.0
    assert config.rollout.recent_seconds == 900


def test_finding_grades_are_compares() -> None:
    assert FINDING_GRADES == GRADES


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[rollout.step]]\nshare = 0\n", "rollout.step[0].share must be more than 0"),
        ("[[rollout.step]]\nshare = 120\n", "at most 100"),
        ("[[rollout.step]]\nshare = 50\n[[rollout.step]]\nshare = 25\n", "rollout.step[1].share 25 is below"),
        ('[[rollout.step]]\nshare = 10\nmin_duration = "a day"\n', "min_duration 'a day' is not a duration"),
        ("[[rollout.step]]\nshare = 10\nmin_duration = 86400\n", "min_duration must be string"),
        (
            "[[rollout.step]]\nshare = 10\nmax_findings = { broken = 0 }\n",
            "max_findings has no grade 'broken'",
        ),
        ("[[rollout.step]]\nshare = 10\nmax_findings = { breaking = -1 }\n", "max_findings.breaking must be"),
        (
            '[[rollout.step]]\nshare = 10\nmax_findings = { breaking = "no" }\n',
            "max_findings.breaking must be integer",
        ),
        ("[[rollout.step]]\nshare = 10\nmax_error_rate = 101\n", "max_error_rate must be between 0 and 100"),
        ("[[rollout.step]]\nshare = 10\nmax_eror_rate = 1\n", "unknown key 'rollout.step[0].max_eror_rate'"),
        ("[[rollout.step]]\nshare = 10\n[[rollout.step]]\nshare = 10\n", "named '10%' like a step before"),
        ("[rollout.rollback]\nmin_requests = 0\n", "rollout.rollback.min_requests must be at least 1"),
        ("[rollout.page]\nmin_parity = 120\n", "rollout.page.min_parity must be between 0 and 100"),
        ('[rollout.cohorts]\nlogs = ["a.log"]\n', "needs legacy and candidate patterns"),
        ("[rollout.canary]\nalpha = 0.9\n", "rollout.canary.alpha must be between"),
        ('[rollout]\nrecent = "soon"\n', "rollout.recent 'soon' is not a duration"),
    ],
)
def test_a_bad_plan_is_one_error_naming_key_and_file(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, text)
    assert needle in caught.value.message
    assert "paritycheck.toml" in caught.value.message
    assert caught.value.hint


def test_a_plan_with_everything_set_loads(tmp_path: Path) -> None:
    text = SEED + (
        '[rollout.cohorts]\nlogs = ["a.json"]\nby = "header:x-canary"\nlegacy = ["0"]\ncandidate = ["1"]\n'
        "[rollout.canary]\nmin_error_increase = 1.0\n"
    )
    config = plan(tmp_path, text)
    assert config.rollout.cohorts.by == "header:x-canary"
    assert config.rollout.canary.min_error_increase == 1.0
