"""A real Bollard on loopback (the gateway tests' fixtures) and the official MCP client.

`mcp_session` (in `tests.harness`) opens a `ClientSession` over the SDK's streamable
HTTP client to Bollard's /mcp with an agent's key.
"""

from __future__ import annotations

import pytest

from tests.harness import (
    TIMEOUT,
    Bollard,
    Era,
    StartBollard,
    bollard,
    mcp_session,
    sandbox,
    start_bollard,
    text,
)

__all__ = [
    "TIMEOUT",
    "Bollard",
    "Era",
    "StartBollard",
    "bollard",
    "mcp_session",
    "sandbox",
    "start_bollard",
    "text",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
