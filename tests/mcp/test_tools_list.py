"""tools/list over real MCP sessions: only the granted actions, described from the catalog."""

from __future__ import annotations

import httpx
import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from bollard.catalog import load_catalog
from tests.harness import Bollard, Era, mcp_session

pytestmark = pytest.mark.anyio
ERAS: list[Era] = ["legacy", "modern"]


@pytest.mark.parametrize("era", ERAS)
async def test_tools_list_shows_only_granted_actions_named_as_apollo_names_them(
    bollard: Bollard, era: Era
) -> None:
    _, key = bollard.agents.create("research", ["people:read", "contacts.create"])
    async with mcp_session(bollard.url, key, era) as session:
        listed = await session.list_tools()
    assert [t.name for t in listed.tools] == [
        "apollo_mixed_people_api_search",
        "apollo_people_match",
        "apollo_people_bulk_match",
        "apollo_contacts_create",
        "apollo_people_show",
        "apollo_webhook_result_show",
    ]


async def test_agent_with_no_grants_sees_no_tools(bollard: Bollard) -> None:
    _, key = bollard.agents.create("empty")
    async with mcp_session(bollard.url, key) as session:
        assert (await session.list_tools()).tools == []


async def test_tool_schema_annotations_and_description_come_from_the_catalog(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("all", ["*:*"])
    async with mcp_session(bollard.url, key) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert len(tools) == len(load_catalog().actions)

    search = tools["apollo_mixed_people_api_search"]
    per_page = search.input_schema["properties"]["per_page"]
    assert (per_page["type"], per_page["minimum"], per_page["maximum"]) == ("integer", 1, 100)
    seniorities = search.input_schema["properties"]["person_seniorities"]
    assert "vp" in seniorities["items"]["enum"]
    assert search.annotations is not None
    assert search.annotations.read_only_hint is True
    assert search.annotations.open_world_hint is True
    assert search.description is not None
    assert "Credits: free" in search.description
    assert "per_page at most 100, page at most 500" in search.description

    bulk = tools["apollo_people_bulk_match"]
    assert bulk.input_schema["required"] == ["details"]
    assert bulk.input_schema["properties"]["details"]["maxItems"] == 10
    assert bulk.description is not None
    assert "at most 10 records per call" in bulk.description
    assert "+8 per phone number revealed" in bulk.description
    assert "webhook_url" in bulk.description

    enroll = tools["apollo_emailer_campaigns_add_contact_ids"]
    assert enroll.annotations is not None
    assert (enroll.annotations.read_only_hint, enroll.annotations.destructive_hint) == (False, True)
    assert "sequence_id" in enroll.input_schema["required"]
    create = tools["apollo_contacts_create"]
    assert create.annotations is not None
    assert create.annotations.destructive_hint is False


async def test_annotations_come_from_the_risk_tags_of_the_documents_actions(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("all", ["*:*"])
    async with mcp_session(bollard.url, key) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    for name in (
        "apollo_emailer_messages_send_now",  # sends email
        "apollo_emailer_campaigns_approve",  # starts a sequence sending
        "apollo_emailer_campaigns_archive",  # destructive
        "apollo_emailer_campaigns_remove_or_stop_contact_ids",  # destructive
    ):
        hints = tools[name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (
            False, True, True,
        ), name  # fmt: skip
    send = tools["apollo_emailer_messages_send_now"]
    assert send.description is not None
    assert "Risk tags: sends_email." in send.description
    draft = tools["apollo_emailer_messages_create"].annotations
    assert draft is not None
    assert draft.destructive_hint is False
    accounts = tools["apollo_email_accounts_index"].annotations
    assert accounts is not None
    assert accounts.read_only_hint is True


async def test_grant_change_shows_in_the_next_tools_list(bollard: Bollard) -> None:
    _, key = bollard.agents.create("growing", ["people.search"])
    async with mcp_session(bollard.url, key) as session:
        before = [t.name for t in (await session.list_tools()).tools]
        bollard.agents.add_grants("growing", ["contacts:write"])
        after = [t.name for t in (await session.list_tools()).tools]
        bollard.agents.remove_grants("growing", ["people.search"])
        last = [t.name for t in (await session.list_tools()).tools]
    assert before == ["apollo_mixed_people_api_search"]
    writes = [
        "apollo_contacts_create",
        "apollo_contacts_update",
        "apollo_contacts_update_stages",
        "apollo_contacts_update_owners",
        "apollo_contacts_bulk_create",
        "apollo_contacts_bulk_update",
    ]
    assert after == ["apollo_mixed_people_api_search", *writes]
    assert last == writes


@pytest.mark.parametrize("version", HANDSHAKE_PROTOCOL_VERSIONS)
def test_every_handshake_protocol_version_lists_the_granted_tools(
    bollard: Bollard, version: str
) -> None:
    _, key = bollard.agents.create("versions", ["people.search"])
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream",
    }
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    with httpx.Client(base_url=bollard.url, headers=headers, timeout=10) as client:
        opened = client.post("/mcp", json=init)
        assert opened.status_code == 200
        assert opened.json()["result"]["protocolVersion"] == version
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"]}
        if version != "2024-11-05":
            session["MCP-Protocol-Version"] = version
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert client.post("/mcp", json=done, headers=session).status_code == 202
        listed = client.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session
        )
    assert [t["name"] for t in listed.json()["result"]["tools"]] == [
        "apollo_mixed_people_api_search"
    ]
