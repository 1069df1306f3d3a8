"""`bollard rules` and `bollard check --args` through the real CLI; a rule added there
is in force on a running Bollard's next call."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from bollard.cli import main
from tests.harness import Bollard, StartBollard

SEARCH = "/api/v1/mixed_people/api_search"
CAP = "has(args.per_page) && args.per_page > 25"


def _cli(bollard: Bollard, *args: str) -> Result:
    """The real CLI on the server's database and state (its audit key seals the records)."""
    env = {
        "BOLLARD_DATABASE_URL": bollard.settings.database_url,
        "BOLLARD_STATE_DIR": str(bollard.settings.state_dir),
    }
    if bollard.settings.audit_key is not None:
        env["BOLLARD_AUDIT_KEY"] = bollard.settings.audit_key.get_secret_value()
    return CliRunner().invoke(main, list(args), env=env)


def test_rules_added_listed_checked_and_removed_through_the_cli(
    start_bollard: StartBollard, database_url: str
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("bot", ["people:read"])
    added = _cli(
        bollard,
        *("rules", "add", "bot", "people.search", "--effect", "deny", "--when", CAP),
        *("--reason", "25 a page at most", "--json"),
    )
    assert added.exit_code == 0, added.output
    rule = json.loads(added.output)
    assert (rule["agent"], rule["when"], rule["reason"]) == ("bot", CAP, "25 a page at most")
    with bollard.client(key) as client:
        assert client.post(SEARCH, json={"per_page": 50}).json()["error"] == "25 a page at most"
    listed = _cli(bollard, "rules", "list", "bot", "--json")
    assert [r["id"] for r in json.loads(listed.output)] == [rule["id"]]
    denied = _cli(bollard, "check", "bot", "people.search", "--args", '{"per_page": 50}')
    assert denied.exit_code == 1
    assert "denied by policy: 25 a page at most" in denied.output
    assert f"rule #{rule['id']}: deny" in denied.output
    assert _cli(bollard, "check", "bot", "people.search", "--args", "{}").exit_code == 0
    removed = _cli(bollard, "rules", "remove", "bot", str(rule["id"]))
    assert removed.exit_code == 0, removed.output
    with bollard.client(key) as client:
        assert client.post(SEARCH, json={"per_page": 50}).status_code == 200


def test_the_cli_refuses_a_typo_and_approve_with_what_to_do(
    start_bollard: StartBollard, database_url: str
) -> None:
    bollard = start_bollard(database_url)
    bollard.agents.create("bot", ["people:read"])
    typo = _cli(
        bollard,
        "rules",
        "add",
        "bot",
        "people.search",
        "--effect",
        "deny",
        "--when",
        "args.per_pag > 25",
    )
    assert typo.exit_code != 0
    assert "did you mean per_page" in typo.output
    approve = _cli(bollard, "rules", "add", "--all-agents", "people.search", "--effect", "approve")
    assert approve.exit_code != 0
    assert "not available yet" in approve.output
    assert json.loads(_cli(bollard, "rules", "list", "--json").output) == []
