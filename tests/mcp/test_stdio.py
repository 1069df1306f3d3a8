"""`bollard mcp`: the stdio relay, spawned as a desktop client would spawn it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.stdio import get_default_environment

from tests.mcp.conftest import TIMEOUT, Bollard, text

pytestmark = pytest.mark.anyio


def bollard_command() -> str:
    return str(Path(sys.executable).with_name("bollard"))


async def test_stdio_bridge_relays_the_agents_tools_and_calls(bollard: Bollard) -> None:
    _, key = bollard.agents.create("desktop", ["people.search"])
    env = {**get_default_environment(), "BOLLARD_AGENT_KEY": key}
    params = StdioServerParameters(
        command=bollard_command(), args=["mcp", "--url", bollard.url], env=env
    )
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        found = await session.call_tool("apollo_mixed_people_api_search", {"per_page": 2})
        refused = await session.call_tool("apollo_contacts_create", {"first_name": "Ada"})
    assert [t.name for t in listed.tools] == ["apollo_mixed_people_api_search"]
    assert listed.tools[0].annotations is not None
    assert listed.tools[0].annotations.read_only_hint is True
    assert not found.is_error
    assert isinstance(found.structured_content, dict)
    assert len(found.structured_content["people"]) == 2
    assert refused.is_error
    assert "not granted" in text(refused)
    doors = {r["door"] for r in bollard.records()}
    assert doors == {"mcp"}
    assert [c.action_id for c in bollard.sandbox.calls] == ["people.search"]
