"""`bollard mcp`: the stdio relay, spawned as a desktop client would spawn it."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.stdio import get_default_environment

from bollard.cli import main
from tests.harness import Bollard, text

pytestmark = pytest.mark.anyio

# The first answer waits for a new Python process to import Bollard and the MCP SDK,
# which on a loaded two-core host took 15-25 s: a bound, generous on purpose.
START_TIMEOUT = 90.0


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
        ClientSession(read, write, read_timeout_seconds=START_TIMEOUT) as session,
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


def free_port_url() -> str:
    """The URL of a loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_bridge(*args: str, **env: str) -> Result:
    clean = {"BOLLARD_AGENT_KEY": None, "BOLLARD_URL": None}
    return CliRunner().invoke(main, ["mcp", *args], env={**clean, **env})


def test_bridge_with_a_refused_key_says_so_in_one_line(bollard: Bollard) -> None:
    result = run_bridge("--url", bollard.url, BOLLARD_AGENT_KEY="bol_not_a_real_key")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: Bollard at {bollard.url}/mcp refused the agent key")
    assert "Traceback" not in result.output


def test_bridge_to_a_stopped_server_says_nothing_is_listening() -> None:
    url = free_port_url()
    result = run_bridge("--url", url, BOLLARD_AGENT_KEY="bol_any")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: nothing is listening at {url}/mcp: is `bollard serve` running, "
        "and is the URL right?\n"
    )


def test_bridge_without_a_key_names_the_variable() -> None:
    result = run_bridge("--url", "http://127.0.0.1:8787")
    assert result.exit_code == 2
    assert "set BOLLARD_AGENT_KEY" in result.output
