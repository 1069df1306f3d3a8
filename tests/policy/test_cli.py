"""`bollard rules` and `bollard check --args` through the real CLI; a rule added there
is in force on a running Bollard's next call."""

from __future__ import annotations

import json

from tests.harness import StartBollard
from tests.harness import cli as _cli

SEARCH = "/api/v1/mixed_people/api_search"
CAP = "has(args.per_page) && args.per_page > 25"


def test_rules_added_listed_checked_and_removed_through_the_cli(
    database_url: str, start_bollard: StartBollard
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


def test_the_cli_refuses_a_typo_and_a_misplaced_expiry_with_what_to_do(
    database_url: str, start_bollard: StartBollard
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
    expiry = _cli(
        bollard,
        *("rules", "add", "--all-agents", "people.search", "--effect", "deny"),
        *("--expires-after", "2h"),
    )
    assert expiry.exit_code != 0
    assert "--expires-after goes with --effect approve" in expiry.output
    assert json.loads(_cli(bollard, "rules", "list", "--json").output) == []


def test_check_names_the_rules_applied_and_shows_a_shadow_rule_as_would_deny(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard()
    bollard.agents.create("sdr", ["contacts:*"])
    ceo = 'args.title == "CEO"'
    _cli(bollard, "rules", "add", "sdr", "contacts.create", "--effect", "deny", "--when", ceo,
         "--shadow", "--reason", "no CEOs yet")  # fmt: skip
    shadow = _cli(bollard, "check", "sdr", "contacts.create", "--args", '{"title": "CEO"}')
    assert shadow.exit_code == 0, shadow.output
    assert shadow.output.startswith("allowed: sdr → contacts.create")
    assert "would deny ([sdr] contacts.create deny when " in shadow.output
    assert "(shadow): no CEOs yet)" in shadow.output
    other = _cli(bollard, "check", "sdr", "contacts.create", "--args", '{"title": "CTO"}')
    assert "would deny" not in other.output


def test_check_says_a_call_would_be_held_or_refused_for_an_unknown_parameter(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    bollard.agents.create("bot", ["people:read"])
    added = _cli(
        bollard,
        *("rules", "add", "bot", "people.search", "--effect", "approve", "--when", CAP),
        *("--expires-after", "8h", "--reason", "a person approves big pages", "--json"),
    )
    assert added.exit_code == 0, added.output
    rule = json.loads(added.output)["id"]

    held = _cli(bollard, "check", "bot", "people.search", "--args", '{"per_page": 50}')
    assert held.exit_code == 1, held.output
    assert "held: bot → people.search: held for approval: a person approves big pages" in (
        held.output
    )
    assert "the call waits 8 hours, then expires" in held.output
    as_json = _cli(bollard, "check", "bot", "people.search", "--args", '{"per_page": 50}', "--json")
    said = json.loads(as_json.output)
    assert (said["outcome"], said["allowed"], said["held_by_rule"], said["expires_after"]) == (
        "held",
        False,
        rule,
        8 * 3600,
    )

    unknown = _cli(bollard, "check", "bot", "people.search", "--args", '{"titles": ["cto"]}')
    assert unknown.exit_code == 1, unknown.output
    assert "denied: bot → people.search: refused (UNKNOWN_PARAMETER): people.search has no " in (
        unknown.output
    )
    assert "'titles' (did you mean person_titles" in unknown.output
    switched = _cli(bollard, "agents", "set", "bot", "--allow-unknown-parameters")
    assert switched.exit_code == 0, switched.output
    allowed = _cli(bollard, "check", "bot", "people.search", "--args", '{"titles": ["cto"]}')
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output.startswith("allowed: bot → people.search")
