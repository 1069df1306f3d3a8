"""A bad setting in the environment: one clear line naming the variable, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bollard.errors import ConfigError
from bollard.settings import Settings


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BOLLARD_PORT", "abc", "BOLLARD_PORT: Input should be a valid integer"),
        (
            "BOLLARD_ADMIN_SESSION_HOURS",
            "-1",
            "BOLLARD_ADMIN_SESSION_HOURS: Input should be greater",
        ),
    ],
)
def test_a_bad_setting_is_one_error_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = {
        **os.environ,
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        variable: value,
    }
    for command in (["agents", "list"], ["serve"]):
        done = subprocess.run(
            [sys.executable, "-m", "bollard.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: bad setting: "), done.stderr
        assert says in done.stderr
        assert f"(got {value!r})" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_bad_secret_setting_is_named_but_its_value_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}, apollo_key=["apollo-secret-value"])
    assert "BOLLARD_APOLLO_KEY: Input should be a valid string" in str(caught.value)
    assert "apollo-secret-value" not in str(caught.value)
