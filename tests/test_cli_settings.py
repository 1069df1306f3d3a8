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
        assert done.stderr.startswith("Error: bad setting: "), done.stderr
        assert says in done.stderr
        assert f"(got {value!r})" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_bad_secret_setting_is_named_but_its_value_never_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}, apollo_key=["apollo-secret-value"])
    assert "BOLLARD_APOLLO_KEY: Input should be a valid string" in str(caught.value)
    assert "apollo-secret-value" not in str(caught.value)


def test_comma_separated_settings_are_read_from_the_environment_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pydantic-settings would read a tuple-typed variable as JSON first and fail.
    monkeypatch.setenv("BOLLARD_APOLLO_KEY_SCOPES", "people.search, people.enrich")
    monkeypatch.setenv("BOLLARD_MCP_ALLOWED_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("BOLLARD_FORWARDED_ALLOW_IPS", "10.0.0.5, 192.168.0.0/16")
    settings = Settings.from_env()
    assert settings.apollo_key_scopes == ("people.search", "people.enrich")
    assert settings.mcp_allowed_origins == ("https://a.example", "https://b.example")
    assert settings.forwarded_allow_ips == ("10.0.0.5", "192.168.0.0/16")


@pytest.mark.parametrize(
    ("value", "says"),
    [("*", "would believe any caller"), ("10.0.0.0/33", "is not an IP address or network")],
)
def test_a_proxy_list_that_would_trust_anyone_or_nothing_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("BOLLARD_FORWARDED_ALLOW_IPS", value)
    with pytest.raises(ConfigError, match=says):
        Settings.from_env()
