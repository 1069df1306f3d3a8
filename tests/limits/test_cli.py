"""`bollard limits set|clear` and `bollard usage`, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bollard.cli import main
from bollard.store import open_store


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'bollard.db'}"
    open_store(url).dispose()
    env = {"BOLLARD_DATABASE_URL": url, "BOLLARD_REDIS_URL": ""}
    bollard(env, "agents", "create", "research")
    return env


def bollard(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_limits_set_merges_with_what_was_set_before_and_usage_shows_them(
    env: dict[str, str],
) -> None:
    bollard(env, "limits", "set", "research", "--per-minute", "30")
    said = bollard(env, "limits", "set", "research", "--credits-per-day", "500")
    report = json.loads(bollard(env, "usage", "research", "--json"))
    assert said == "limits for research (every action): 30 per minute, 500 credits per day\n"
    (agent,) = report["agents"]
    assert agent["limits"] == [
        {"agent": "research", "action": "*", "per_minute": 30, "credits_per_day": 500}
    ]
    assert agent["credits"][0]["left"] == 500
    assert report["counters"] == "in-process"


def test_limits_for_one_action_and_a_share_of_apollo_are_listed_in_usage(
    env: dict[str, str],
) -> None:
    bollard(
        env, "limits", "set", "research", "--action", "people.search", "--share-of-apollo", "50"
    )
    text = bollard(env, "usage")
    assert "limits research (people.search): at most 50% of Apollo's windows" in text


def test_limits_clear_removes_the_agents_rules(env: dict[str, str]) -> None:
    bollard(env, "limits", "set", "research", "--per-day", "100")
    bollard(env, "limits", "set", "research", "--action", "people.enrich", "--per-day", "5")
    said = bollard(env, "limits", "clear", "research")
    report = json.loads(bollard(env, "usage", "--json"))
    assert said == "cleared 2 limit rule(s) for agent 'research'\n"
    assert report["agents"] == []


def test_an_unknown_action_is_refused_with_the_nearest_names(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["limits", "set", "research", "--action", "people.enrch", "--per-day", "1"], env=env
    )
    assert result.exit_code == 2
    assert "did you mean people.enrich" in result.output


def test_limits_set_without_any_limit_says_what_to_give(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["limits", "set", "research"], env=env)
    assert result.exit_code == 2
    assert "give at least one limit" in result.output


def test_usage_sync_without_a_master_key_says_which_setting_is_missing(
    env: dict[str, str],
) -> None:
    result = CliRunner().invoke(main, ["usage", "sync"], env=env)
    assert result.exit_code == 2
    assert "BOLLARD_APOLLO_MASTER_KEY" in result.output
