"""tools/list over a real MCP session says an agent's rules where JSON Schema can: a
flag it may never set is `const: false`, an allowed-values rule an `enum`, a cap a
`maximum`, hidden fields are named, a tool no call could pass is not listed. Shadow
rules and conditions of any other shape change nothing; the gateway still decides."""

from __future__ import annotations

from typing import Any

import pytest

from bollard.catalog import load_catalog
from bollard.mcp.tools import tool
from tests.harness import Bollard, add_rule, mcp_session

pytestmark = pytest.mark.anyio


def _catalog_schema(action_id: str) -> dict[str, Any]:
    action = load_catalog().get(action_id)
    assert action is not None
    return tool(action).input_schema


async def test_the_schemas_an_agent_lists_carry_its_rules(bollard: Bollard) -> None:
    _, key = bollard.agents.create("sdr", ["*:*"])
    add_rule(
        bollard,
        "sdr",
        "people.enrich",
        when="has(args.reveal_phone_number) && args.reveal_phone_number == true",
    )
    add_rule(
        bollard,
        "sdr",
        "sequences.add_contacts",
        when='!(args.emailer_campaign_id in ["seq_abc", "seq_def"])',
    )
    add_rule(bollard, "sdr", "people.search", when="has(args.per_page) && args.per_page > 25")
    add_rule(bollard, "sdr", "people.search", "hide", fields=["email", "linkedin_url"])
    add_rule(bollard, "sdr", "people.bulk_enrich", reason="never in bulk")  # no condition
    add_rule(bollard, "sdr", "organizations.search", when="args.per_page > 5", shadow=True)
    add_rule(
        bollard, "sdr", "contacts.search", when="has(args.per_page) && args.per_page > 25 || false"
    )
    async with mcp_session(bollard.url, key) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}

    enrich = tools["apollo_people_match"].input_schema
    assert enrich["properties"]["reveal_phone_number"]["const"] is False
    assert "reveal_phone_number" not in enrich.get("required", [])  # guarded by has()
    enrol = tools["apollo_emailer_campaigns_add_contact_ids"].input_schema
    assert enrol["properties"]["emailer_campaign_id"]["enum"] == ["seq_abc", "seq_def"]
    assert "emailer_campaign_id" in enrol["required"]  # unguarded: without it, denied
    search = tools["apollo_mixed_people_api_search"]
    assert search.input_schema["properties"]["per_page"]["maximum"] == 25
    assert "Withheld from answers by policy: email, linkedin_url." in (search.description or "")
    assert "apollo_people_bulk_match" not in tools
    assert tools["apollo_mixed_companies_search"].input_schema == _catalog_schema(
        "organizations.search"
    )
    assert tools["apollo_contacts_search"].input_schema == _catalog_schema("contacts.search")


async def test_another_agent_and_an_agent_without_rules_see_the_catalog(bollard: Bollard) -> None:
    _, plain = bollard.agents.create("plain", ["people:read"])
    bollard.agents.create("capped", ["people:read"])
    add_rule(bollard, "capped", "people.search", when="args.per_page > 10")
    async with mcp_session(bollard.url, plain) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert tools["apollo_mixed_people_api_search"].input_schema == _catalog_schema("people.search")


async def test_a_team_wide_unconditional_deny_unlists_the_tool_for_every_agent(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("any", ["people:read"])
    add_rule(bollard, None, "people.enrich", reason="enrichment is paused")
    async with mcp_session(bollard.url, key) as session:
        names = [t.name for t in (await session.list_tools()).tools]
        refused = await session.call_tool("apollo_people_match", {"email": "x@example.com"})
    assert "apollo_people_match" not in names
    assert "apollo_mixed_people_api_search" in names
    assert isinstance(refused.structured_content, dict)
    assert refused.structured_content["error_code"] == "POLICY_DENIED"  # still decided
    assert bollard.sandbox.calls == []
