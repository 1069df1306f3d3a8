"""What the CLI says to a person or a script: bad input gets one clear `Error:` line and a
non-zero exit with nothing written; `--json` errors are JSON; times are said in words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bollard.cli import main
from tests.test_changes import Cli

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = Cli(f"sqlite:///{tmp_path / 'bollard.db'}", tmp_path / "state")
    made.ok("agents", "create", "research", "--grant", "people:read")
    return made


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("agents", "create", "x", "--expires", "999999999999d"), "too long: at most 3650 days"),
        (("agents", "create", "x", "--expires", ""), "duration '' is not understood"),
        (("agents", "rotate", "research", "--grace", "999999w"), "too long: at most 3650 days"),
        (("limits", "set", "research", "--per-minute", "9" * 23), "0<=x<=1000000000"),
        (("limits", "set", "research", "--credits-per-day", "-1"), "0<=x<=1000000000"),
    ],
)
def test_out_of_range_input_is_one_error_line_and_nothing_is_written(
    cli: Cli, args: tuple[str, ...], says: str
) -> None:
    before = cli.admin_records()
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert says in result.stderr
    assert "Error: " in result.stderr
    assert cli.admin_records() == before
    assert "x" not in cli.ok("agents", "list").split()


def test_errors_are_spelled_one_way_whoever_raised_them(cli: Cli) -> None:
    cases = [
        cli("agents", "show", "ghost"),  # ours
        cli("limits", "set", "research"),  # a usage error of ours
        cli("agents", "create"),  # click's own
        cli("catalog", "--resource", "peple"),  # the catalog's
    ]
    for result in cases:
        assert result.exit_code == 2, result.output
        assert re.search(r"^Error: ", result.stderr, re.MULTILINE), result.stderr
        assert "error:" not in result.stderr


def test_with_json_an_error_is_json_on_stdout(cli: Cli) -> None:
    unknown = cli("agents", "show", "reserch", "--json")
    usage = cli("limits", "set", "research", "--per-minute", "x", "--json")
    assert (unknown.exit_code, usage.exit_code) == (2, 2)
    assert json.loads(unknown.stdout) == {
        "error": "no agent named 'reserch'; did you mean research?",
        "error_code": "AGENT_NOT_FOUND",
    }
    problem = json.loads(usage.stdout)
    assert problem["error_code"] == "USAGE"
    assert "'x' is not a valid integer" in problem["error"]


def test_expires_says_its_unit_and_warns_when_the_key_stops_within_the_hour(cli: Cli) -> None:
    help_text = cli.ok("agents", "create", "--help")
    result = cli("agents", "create", "brief", "--expires", "3m")
    later = cli("agents", "create", "later", "--expires", "3d")
    assert "90m (minutes)" in help_text
    assert result.exit_code == 0, result.output
    assert re.search(rf"^expires: in 3 minutes, at {STAMP}$", result.stdout, re.M)
    assert "Warning: this agent stops working within the hour" in result.stderr
    assert "m means minutes" in result.stderr
    assert re.search(rf"^expires: in 3 days, at {STAMP}$", later.stdout, re.M)
    assert later.stderr == ""


def test_rotation_with_a_grace_period_says_when_the_old_key_stops(cli: Cli) -> None:
    graced = cli.ok("agents", "rotate", "research", "--grace", "2h")
    at_once = cli.ok("agents", "rotate", "research")
    assert re.search(
        rf"old keys keep working until then: in 2 hours, at {STAMP}$",
        graced,
        re.M,
    )
    assert "its old keys stopped working now" in at_once


def test_usage_of_one_agent_shows_it_first_then_apollos_windows_briefly(cli: Cli) -> None:
    cli.ok("limits", "set", "research", "--per-minute", "30")
    lines = cli.ok("usage", "research").splitlines()
    assert lines[0] == "agent research"
    assert "limits research (every action): 30 per minute" in lines[1]
    apollo = lines.index(next(line for line in lines if line.startswith("Apollo's team windows")))
    assert apollo > 1
    assert len(lines) < 12


def run(args: list[str], columns: int) -> Result:
    return CliRunner().invoke(main, args, env={"COLUMNS": str(columns)})


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_catalog_fits_the_terminals_width(columns: int) -> None:
    result = run(["catalog"], columns)
    assert result.exit_code == 0, result.output
    table = result.stdout.split("\n\n")[0].splitlines()
    assert len(table) == 22
    assert max(len(line) for line in table) <= columns
    assert all(" people.search " in t or "people.search" not in t for t in table)
    wide = run(["catalog"], 250).stdout
    assert "/api/v1/mixed_people/api_search" in wide
