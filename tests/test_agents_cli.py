from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner, Result

from bollard.agents import Agents
from bollard.catalog import load_catalog
from bollard.cli import main
from bollard.store import open_store

KEY = re.compile(r"bol_[0-9A-Za-z]{49}")


@pytest.fixture
def bollard(database_url: str) -> BollardCli:
    return BollardCli(database_url)


class BollardCli:
    """The real `bollard` command against a test database."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env={"BOLLARD_DATABASE_URL": self.url})

    def authenticates(self, key: str) -> bool:
        engine = open_store(self.url)
        try:
            return Agents(engine, load_catalog()).authenticate(key) is not None
        finally:
            engine.dispose()

    def create(self, name: str, *grants: str) -> str:
        result = self("agents", "create", name, *(f"--grant={g}" for g in grants), "--json")
        assert result.exit_code == 0, result.output
        key: str = json.loads(result.stdout)["key"]
        return key


def test_create_prints_the_key_once_and_marks_it_so(bollard: BollardCli) -> None:
    result = bollard("agents", "create", "research", "--grant", "people:read", "--note", "hi")
    assert result.exit_code == 0, result.output
    keys = KEY.findall(result.stdout)
    assert len(keys) == 1
    assert "shown only once" in result.stdout
    assert bollard.authenticates(keys[0])
    for later in (bollard("agents", "show", "research"), bollard("agents", "list", "--json")):
        assert later.exit_code == 0
        assert "research" in later.stdout
        assert not KEY.search(later.stdout)


def test_create_with_json_gives_the_agent_and_its_key(bollard: BollardCli) -> None:
    result = bollard(
        "agents", "create", "sdr", "--grant", "contacts:write", "--expires", "30d", "--json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["key_shown_once"] is True
    assert KEY.fullmatch(out["key"])
    assert out["agent"]["name"] == "sdr"
    assert out["agent"]["status"] == "active"
    assert out["agent"]["grants"] == ["contacts:write"]
    assert out["agent"]["expires_at"] is not None


def test_list_shows_every_agent_with_status_and_grants(bollard: BollardCli) -> None:
    assert "no agents yet" in bollard("agents", "list").stdout
    bollard.create("sdr", "contacts:write")
    bollard.create("enrich", "people.enrich")
    bollard("agents", "revoke", "sdr")
    lines = bollard("agents", "list").stdout.splitlines()
    assert [line.split() for line in lines] == [
        ["enrich", "active", "people.enrich"],
        ["sdr", "revoked", "contacts:write"],
    ]
    listed = json.loads(bollard("agents", "list", "--json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [("enrich", "active"), ("sdr", "revoked")]


def test_revoke_stops_the_key_on_the_next_call(bollard: BollardCli) -> None:
    key = bollard.create("research", "people:read")
    result = bollard("agents", "revoke", "research")
    assert result.exit_code == 0
    assert "revoked agent 'research'" in result.stdout
    assert not bollard.authenticates(key)
    shown = json.loads(bollard("agents", "show", "research", "--json").stdout)
    assert shown["status"] == "revoked"


def test_rotate_prints_a_new_key_and_stops_the_old_one(bollard: BollardCli) -> None:
    old = bollard.create("research", "people:read")
    result = bollard("agents", "rotate", "research")
    assert result.exit_code == 0, result.output
    (new,) = KEY.findall(result.stdout)
    assert "shown only once" in result.stdout
    assert bollard.authenticates(new)
    assert not bollard.authenticates(old)


def test_rotate_with_grace_keeps_the_old_key_working_for_now(bollard: BollardCli) -> None:
    old = bollard.create("research", "people:read")
    result = bollard("agents", "rotate", "research", "--grace", "1h", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["old_keys"].startswith("expire at ")
    assert bollard.authenticates(old)
    assert bollard.authenticates(out["key"])


def test_grants_add_remove_and_list(bollard: BollardCli) -> None:
    bollard.create("enrich")
    assert "may call nothing" in bollard("grants", "list", "enrich").stdout
    added = bollard("grants", "add", "enrich", "people.enrich", "organizations:read")
    assert added.exit_code == 0, added.output
    assert added.stdout.split() == ["organizations:read", "people.enrich"]
    removed = bollard("grants", "remove", "enrich", "organizations:read", "--json")
    assert json.loads(removed.stdout) == {"agent": "enrich", "grants": ["people.enrich"]}
    assert bollard("grants", "list", "enrich").stdout.split() == ["people.enrich"]


def test_check_says_which_grant_allows_a_call_and_exits_zero(bollard: BollardCli) -> None:
    bollard.create("research", "people:read")
    result = bollard("check", "research", "people.search")
    assert result.exit_code == 0
    assert "allowed" in result.stdout
    assert "'people:read'" in result.stdout


def test_check_says_what_is_missing_and_exits_one(bollard: BollardCli) -> None:
    bollard.create("research", "people:read")
    result = bollard("check", "research", "contacts.create", "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["allowed"] is False
    assert out["would_allow"] == ["contacts.create", "contacts:write"]
    assert "not granted" in out["reason"]


def test_check_notes_actions_that_need_the_master_key(bollard: BollardCli) -> None:
    bollard.create("sdr", "sequences:*")
    result = bollard("check", "sdr", "sequences.add_contacts")
    assert result.exit_code == 0
    assert "master key" in result.stdout
    assert "master key" not in bollard("check", "sdr", "people.search").stdout


def test_check_denies_a_revoked_agent_whatever_its_grants(bollard: BollardCli) -> None:
    bollard.create("research", "people:read")
    bollard("agents", "revoke", "research")
    result = bollard("check", "research", "people.search")
    assert result.exit_code == 1
    assert "is revoked" in result.stdout


def test_check_of_an_unknown_action_names_the_nearest(bollard: BollardCli) -> None:
    bollard.create("research", "people:read")
    result = bollard("check", "research", "people.serch")
    assert result.exit_code == 2
    assert "did you mean people.search" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("agents", "show", "ghost"), "no agent named 'ghost'; agents are: research"),
        (("agents", "revoke", "ghost"), "no agent named 'ghost'"),
        (("agents", "create", "research"), "already exists"),
        (("agents", "create", "Bad Name"), "lowercase letters"),
        (("agents", "create", "x", "--grant", "contacts.craete"), "did you mean"),
        (("agents", "create", "x", "--expires", "soon"), "duration 'soon'"),
        (("agents", "rotate", "research", "--grace", "1y"), "duration '1y'"),
        (("grants", "add", "research", "peple:read"), "unknown resource 'peple'"),
        (("grants", "remove", "research", "contacts:*"), "no grant 'contacts:*'"),
        (("grants", "list", "ghost"), "no agent named 'ghost'"),
        (("check", "ghost", "people.search"), "no agent named 'ghost'"),
    ],
)
def test_mistakes_print_an_error_and_exit_two_without_a_traceback(
    bollard: BollardCli, args: tuple[str, ...], says: str
) -> None:
    bollard.create("research", "people:read")
    result = bollard(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ")
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_a_bad_database_url_is_an_error_not_a_traceback() -> None:
    result = CliRunner().invoke(
        main, ["agents", "list"], env={"BOLLARD_DATABASE_URL": "mysql://root@localhost/x"}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: database URL scheme 'mysql' is not supported")
