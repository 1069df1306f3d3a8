"""The MCP door, too, never follows an upstream redirect with the Apollo key."""

from __future__ import annotations

import pytest

from tests.harness import MASTER_KEY, SCOPED_KEY, StartBollard, mcp_session, text
from tests.hostile_upstreams import catcher, redirector

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("status", "tool"),
    [(307, "apollo_mixed_people_api_search"), (302, "apollo_users_search")],
)
async def test_a_redirect_from_upstream_is_a_tool_error_and_no_key_reaches_the_other_host(
    start_bollard: StartBollard, status: int, tool: str
) -> None:
    with catcher() as other:
        elsewhere = other.url.replace("127.0.0.1", "localhost")
        with redirector(status, elsewhere) as url:
            bollard = start_bollard(apollo_url=url)
            _, key = bollard.agents.create("a", ["*:read"])
            async with mcp_session(bollard.url, key) as session:
                result = await session.call_tool(tool, {})
            records = bollard.records()
    assert other.seen == []
    assert result.is_error
    said = text(result)
    assert f"answered {status}" in said
    assert "'localhost'" in said
    assert isinstance(result.structured_content, dict)
    assert result.structured_content["error_code"] == "UPSTREAM_REDIRECTED"
    outcome = records[-1]
    assert (outcome["door"], outcome["outcome"], outcome["status"]) == (
        "mcp",
        "upstream_error",
        502,
    )
    assert SCOPED_KEY not in said
    assert MASTER_KEY not in said
