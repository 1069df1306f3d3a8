"""A real Bollard on loopback (the gateway tests' fixtures) and the official MCP client.

`mcp_session` opens a `ClientSession` over the SDK's streamable HTTP client to
Bollard's /mcp with an agent's key, in either protocol era: `"legacy"` runs the
initialize handshake, `"modern"` the stateless 2026-07-28 `server/discover`.
Every session is bounded by `read_timeout_seconds`, so no test waits forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.gateway.conftest import Bollard, StartBollard, bollard, sandbox, start_bollard

__all__ = [
    "Bollard",
    "StartBollard",
    "bollard",
    "mcp_session",
    "sandbox",
    "start_bollard",
    "text",
]

Era = Literal["legacy", "modern"]
TIMEOUT = 10.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def mcp_session(
    url: str, key: str | None, era: Era = "legacy", headers: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """A connected MCP client session to Bollard at `url` (its base URL)."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    async with (
        create_mcp_http_client(headers=sent) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
    ):
        if era == "modern":
            await session.discover()
        else:
            await session.initialize()
        yield session


def text(result: types.CallToolResult, index: int = 0) -> str:
    """The text of one content block of a tool result ('' when it is not text)."""
    block = result.content[index]
    return block.text if isinstance(block, types.TextContent) else ""
