"""Rules with CEL conditions, decided in the one pipeline: REST and MCP alike, on SQLite
and PostgreSQL, with the sandbox seeing nothing of a denied call."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bollard.errors import ConfigError
from bollard.policy import Rule
from tests.harness import ADMIN, Bollard, StartBollard, add_rule, changes, mcp_session, text

SEARCH = "/api/v1/mixed_people/api_search"
ENRICH = "/api/v1/people/match"
BULK = "/api/v1/people/bulk_match"
SEQUENCE = "/api/v1/emailer_campaigns/seq_abc/add_contact_ids"
HOOK = "https://example.com/apollo/phones"
ENROL = {"contact_ids": ["c1"], "send_email_from_email_account_id": "6095a710bd01d100a506d4ae"}

# (selector, condition, path, arguments that pass, arguments that are denied)
EXAMPLES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "people.enrich",
        "has(args.reveal_phone_number) && args.reveal_phone_number == true",
        ENRICH,
        {"email": "x@example.com"},
        {"email": "x@example.com", "reveal_phone_number": True, "webhook_url": HOOK},
    ),
    (
        "sequences.add_contacts",
        '!(args.emailer_campaign_id in ["seq_abc", "seq_def"])',
        SEQUENCE,
        {"emailer_campaign_id": "seq_abc", **ENROL},
        {"emailer_campaign_id": "seq_zzz", **ENROL},
    ),
    (
        "people.search",
        "has(args.per_page) && args.per_page > 25",
        SEARCH,
        {"per_page": 25},
        {"per_page": 26},
    ),
    (
        "people.bulk_enrich",
        "has(args.details) && size(args.details) > 3",
        BULK,
        {"details": [{"email": f"p{i}@example.com"} for i in range(3)]},
        {"details": [{"email": f"p{i}@example.com"} for i in range(4)]},
    ),
]


def _sent(bollard: Bollard) -> list[str | None]:
    return [c.action_id for c in bollard.sandbox.calls]


@pytest.mark.parametrize(("selector", "when", "path", "passes", "denied"), EXAMPLES)
def test_each_example_condition_allows_and_denies_over_rest(
    start_bollard: StartBollard,
    database_url: str,
    selector: str,
    when: str,
    path: str,
    passes: dict[str, Any],
    denied: dict[str, Any],
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["*:*"])
    add_rule(bollard, "agent", selector, when=when, reason="ask RevOps first")
    with bollard.client(key) as client:
        refused = client.post(path, json=denied)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error_code"] == "POLICY_DENIED"
        assert "ask RevOps first" in refused.json()["error"]
        assert _sent(bollard) == []  # nothing of the denied call went up
        allowed = client.post(path, json=passes)
    assert allowed.status_code != 403, allowed.text
    assert _sent(bollard) == [selector], allowed.text
    request = next(r for r in bollard.records() if r["decision"] == "deny")
    data = json.loads(request["data"])
    assert data["reason"] == "ask RevOps first"
    assert data["rules"][0]["effect"] == "deny"


@pytest.mark.anyio
@pytest.mark.parametrize(("selector", "when", "path", "passes", "denied"), EXAMPLES)
async def test_each_example_condition_decides_the_same_over_mcp(
    bollard: Bollard,
    selector: str,
    when: str,
    path: str,
    passes: dict[str, Any],
    denied: dict[str, Any],
) -> None:
    _, key = bollard.agents.create("agent", ["*:*"])
    add_rule(bollard, "agent", selector, when=when, reason="ask RevOps first")
    tool = bollard.gateway.catalog.get(selector)
    assert tool is not None
    extra = {"sequence_id": "seq_abc"} if "sequence_id" in tool.path_params else {}
    async with mcp_session(bollard.url, key) as session:
        refused = await session.call_tool(tool.mcp_tool, {**denied, **extra})
        assert refused.is_error
        assert "ask RevOps first" in text(refused)
        assert isinstance(refused.structured_content, dict)
        assert refused.structured_content["error_code"] == "POLICY_DENIED"
        assert _sent(bollard) == []
        allowed = await session.call_tool(tool.mcp_tool, {**passes, **extra})
    assert "POLICY_DENIED" not in json.dumps(allowed.structured_content)
    assert _sent(bollard) == [selector]


def test_a_condition_that_cannot_be_evaluated_denies_and_the_record_says_so(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["sequences:write"])
    add_rule(bollard, "agent", "sequences.add_contacts", when=EXAMPLES[1][1])
    with bollard.client(key) as client:  # no emailer_campaign_id: the condition errs
        reply = client.post(SEQUENCE, json=ENROL)
    assert reply.status_code == 403
    assert "denied, as any rule that cannot be checked" in reply.json()["error"]
    assert _sent(bollard) == []
    request = next(r for r in bollard.records() if r["kind"] == "request")
    assert "could not be evaluated" in json.loads(request["data"])["rules"][0]["error"]


def test_a_shadow_rule_changes_no_answer_and_is_recorded_as_would_deny(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["people:read"])
    rule = add_rule(bollard, "agent", "people.search", when=EXAMPLES[2][1], shadow=True)
    with bollard.client(key) as client:
        assert client.post(SEARCH, json={"per_page": 50}).status_code == 200
        assert client.post(SEARCH, json={"per_page": 5}).status_code == 200
    assert _sent(bollard) == ["people.search", "people.search"]
    requests = [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "request"]
    assert requests[0]["rules"] == [{"rule": rule.id, "effect": "deny", "shadow": "would deny"}]
    assert "rules" not in requests[1]


def test_a_team_wide_rule_applies_to_every_agent_and_a_new_rule_on_the_next_call(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, one = bollard.agents.create("one", ["people:read"])
    _, two = bollard.agents.create("two", ["people:read"])
    with bollard.client(one) as client:
        assert client.post(SEARCH, json={"per_page": 50}).status_code == 200
    rule = add_rule(bollard, None, "people.search", when=EXAMPLES[2][1], reason="25 a page")
    for key in (one, two):
        with bollard.client(key) as client:
            assert client.post(SEARCH, json={"per_page": 50}).json()["error"] == "25 a page"
    changes(bollard).remove_rule(ADMIN, None, rule.id)
    with bollard.client(two) as client:
        assert client.post(SEARCH, json={"per_page": 50}).status_code == 200
    assert _sent(bollard) == ["people.search", "people.search"]


def test_rule_changes_are_on_the_admin_record(bollard: Bollard) -> None:
    bollard.agents.create("agent", ["people:read"])
    admin = changes(bollard)
    rule = admin.add_rule(
        ADMIN, Rule(0, "agent", "people.search", "deny", "no", "args.per_page > 5"), "pilot"
    )
    admin.remove_rule(ADMIN, "agent", rule.id, "done")
    records = [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "admin"]
    added, removed = records[-2:]
    assert (added["change"], added["before"], added["after"]["when"]) == (
        "rules.add",
        None,
        "args.per_page > 5",
    )
    assert (added["by"], added["reason"]) == ("alice@example.com", "pilot")
    assert (removed["change"], removed["before"]["id"], removed["after"]) == (
        "rules.remove",
        rule.id,
        None,
    )


@pytest.mark.parametrize(
    ("selector", "effect", "when", "fields", "said"),
    [
        ("people.search", "deny", "args.per_pag > 25", (), "did you mean per_page"),
        ("people:read", "deny", "args.per_page > 25", (), "not a parameter of"),
        ("people.search", "deny", "args.per_page >", (), "does not compile"),
        ("people.search", "deny", "user == 'x'", (), "may read only"),
        ("people.search", "approve", None, ("email",), "--fields goes with --effect hide"),
        ("people.search", "hide", None, (), "needs --fields"),
        ("people.search", "hide", None, ("emial",), "did you mean email"),
        ("people.serch", "deny", None, (), "did you mean people.search"),
    ],
)
def test_a_bad_rule_is_refused_when_written_and_nothing_is_stored(
    bollard: Bollard,
    selector: str,
    effect: str,
    when: str | None,
    fields: tuple[str, ...],
    said: str,
) -> None:
    bollard.agents.create("agent", ["*:*"])
    admin = changes(bollard)
    with pytest.raises(ConfigError, match=said):
        admin.add_rule(ADMIN, Rule(0, "agent", selector, effect, "", when, fields))
    assert [r for r in bollard.records() if r["action"] == "rules.add"] == []
    assert asyncio.run(_no_rules(bollard))


async def _no_rules(bollard: Bollard) -> bool:
    return bollard.gateway.rules.for_agent("agent", await bollard.agents.version()) == ()


def test_a_rule_on_a_tag_covers_every_action_carrying_it(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["sequences:write"])
    add_rule(bollard, "agent", "tag:sends_email", reason="no email from agents")
    with bollard.client(key) as client:
        reply = client.post(SEQUENCE, json={"emailer_campaign_id": "seq_abc", **ENROL})
    assert reply.json()["error"] == "no email from agents"
    assert _sent(bollard) == []
