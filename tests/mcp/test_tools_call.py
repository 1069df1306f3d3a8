"""tools/call over real MCP sessions runs the gateway: the same checks and the same log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Bollard, Era, mcp_session, text

pytestmark = pytest.mark.anyio
SEARCH = "apollo_mixed_people_api_search"
ERAS: list[Era] = ["legacy", "modern"]


@pytest.mark.parametrize("era", ERAS)
async def test_granted_call_returns_apollo_json_as_structured_content_with_a_summary(
    bollard: Bollard, era: Era
) -> None:
    _, key = bollard.agents.create("research", ["people:read"])
    async with mcp_session(bollard.url, key, era) as session:
        result = await session.call_tool(SEARCH, {"person_titles": ["vp of sales"], "per_page": 3})
    assert not result.is_error
    assert isinstance(result.structured_content, dict)
    people = result.structured_content["people"]
    assert 0 < len(people) <= 3
    assert text(result).startswith(f"people.search: {len(people)} people")
    assert [c.action_id for c in bollard.sandbox.calls] == ["people.search"]


async def test_calls_are_audited_with_door_mcp(bollard: Bollard) -> None:
    _, key = bollard.agents.create("research", ["people:read"])
    async with mcp_session(bollard.url, key) as session:
        await session.call_tool(SEARCH, {"per_page": 1})
    request, outcome = bollard.records()
    assert (request["door"], request["agent"], request["action"]) == (
        "mcp",
        "research",
        "people.search",
    )
    assert (request["decision"], outcome["outcome"], outcome["status"]) == ("allow", "ok", 200)


@pytest.mark.parametrize("era", ERAS)
async def test_ungranted_tool_is_refused_as_not_granted_naming_the_grant_that_would_allow_it(
    bollard: Bollard, era: Era
) -> None:
    _, key = bollard.agents.create("writer", ["contacts:write"])
    async with mcp_session(bollard.url, key, era) as session:
        result = await session.call_tool(SEARCH, {"per_page": 5})
    assert result.is_error
    said = text(result)
    assert "not granted" in said
    assert "'people.search' or 'people:read'" in said
    assert "not found" not in said.lower()
    assert isinstance(result.structured_content, dict)
    assert result.structured_content["error_code"] == "NOT_GRANTED"
    assert bollard.sandbox.calls == []
    request, outcome = bollard.records()
    assert (request["door"], request["decision"], outcome["outcome"]) == ("mcp", "deny", "denied")


async def test_invalid_argument_is_a_tool_error_naming_the_argument(bollard: Bollard) -> None:
    _, key = bollard.agents.create("research", ["people:read"])
    async with mcp_session(bollard.url, key) as session:
        too_many = await session.call_tool(SEARCH, {"per_page": 500})
        bad_enum = await session.call_tool(SEARCH, {"person_seniorities": ["emperor"]})
        no_details = await session.call_tool("apollo_people_bulk_match", {})
    texts = [
        r.content[0].text for r in (too_many, bad_enum, no_details) if r.content[0].type == "text"
    ]
    assert all(r.is_error for r in (too_many, bad_enum, no_details))
    assert "per_page must be at most 100" in texts[0]
    assert "person_seniorities has 'emperor'" in texts[1]
    assert "details is required" in texts[2]
    assert bollard.sandbox.calls == []


async def test_apollo_error_comes_back_as_a_tool_error_with_apollos_message(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("crm", ["contacts:write"])
    async with mcp_session(bollard.url, key) as session:
        result = await session.call_tool(
            "apollo_contacts_update", {"contact_id": "0000000000000000deadbeef", "title": "CTO"}
        )
    assert result.is_error
    apollo = bollard.sandbox.calls[-1]
    assert apollo.action_id == "contacts.update"
    assert isinstance(result.structured_content, dict)
    assert text(result).startswith("Apollo answered 4")
    message = result.structured_content.get("error") or result.structured_content.get("message")
    assert isinstance(message, str)
    assert message in text(result)
    assert json.loads(text(result, 1)) == result.structured_content


async def test_unknown_tool_is_named_as_unknown(bollard: Bollard) -> None:
    _, key = bollard.agents.create("research", ["*:read"])
    async with mcp_session(bollard.url, key) as session:
        result = await session.call_tool("apollo_launch_rockets", {})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error_code"] == "NOT_FOUND"


async def test_summary_counts_the_result_the_catalog_names_for_the_action(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("research", ["organizations:read", "accounts:read"])
    async with mcp_session(bollard.url, key) as session:
        companies = await session.call_tool("apollo_mixed_companies_search", {"per_page": 2})
        accounts = await session.call_tool("apollo_accounts_search", {})
    assert isinstance(companies.structured_content, dict)
    assert len(companies.structured_content["organizations"]) == 2
    assert companies.structured_content["breadcrumbs"] == []
    said = text(companies)
    assert said.startswith("organizations.search: 2 organizations (page 1 of ")
    assert "breadcrumbs" not in said
    assert text(accounts).startswith("accounts.search: no accounts (0 in total)")


async def test_arguments_nested_too_deep_are_a_tool_error_only_once_the_tool_is_granted(
    bollard: Bollard,
) -> None:
    nested: Any = "x"
    for _ in range(40):  # parsed by the SDK, but deeper than any Apollo parameter goes
        nested = [nested]
    _, key = bollard.agents.create("research", ["people:read"])
    _, other = bollard.agents.create("writer", ["contacts:write"])
    async with mcp_session(bollard.url, key) as session:
        granted = await session.call_tool(SEARCH, {"per_page": 1, "q_keywords": nested})
    async with mcp_session(bollard.url, other) as session:
        ungranted = await session.call_tool(SEARCH, {"per_page": 1, "q_keywords": nested})
        bad_id = await session.call_tool("apollo_accounts_update", {"account_id": "../x"})
    assert [r.is_error for r in (granted, ungranted, bad_id)] == [True] * 3
    codes = [
        r.structured_content["error_code"] if r.structured_content else None
        for r in (granted, ungranted, bad_id)
    ]
    assert codes == ["MALFORMED_BODY", "NOT_GRANTED", "NOT_GRANTED"]
    assert "nests deeper than 8 levels" in text(granted)
    assert bollard.sandbox.calls == []


async def test_a_path_parameter_with_a_trailing_newline_is_refused(bollard: Bollard) -> None:
    _, key = bollard.agents.create("writer", ["contacts:write"])
    async with mcp_session(bollard.url, key) as session:
        result = await session.call_tool(
            "apollo_contacts_update", {"contact_id": "abc123\n", "title": "CEO"}
        )
    assert result.is_error
    assert "contact_id" in text(result)
    assert bollard.sandbox.calls == []
