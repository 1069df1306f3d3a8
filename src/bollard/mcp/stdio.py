"""`bollard mcp`: a stdio MCP server that relays to a Bollard server over HTTP.

For desktop clients that only start local stdio servers. It holds one MCP
client session to Bollard's /mcp with the agent's key and passes `tools/list`
and `tools/call` through unchanged: what the agent sees and may do is decided
by the Bollard it relays to, never here.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import mcp_types as types
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client

from bollard.mcp.server import INSTRUCTIONS


def endpoint(url: str) -> str:
    """Bollard's MCP endpoint from its base URL (or the endpoint itself)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL, e.g. http://127.0.0.1:8787")
    path = parts.path.rstrip("/")
    path = path if path.endswith("/mcp") else path + "/mcp"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class BridgeError(Exception):
    """Why the bridge cannot reach Bollard, in one line a person can act on."""


async def relay(url: str, key: str) -> None:
    """Serve MCP on stdin/stdout, answering each request from the Bollard at `url`.

    Raises BridgeError when Bollard cannot be reached or refuses the key: the SDK
    reports both as nested task-group errors that say neither.
    """
    headers = {"Authorization": f"Bearer {key}"}
    refused: list[str] = []

    async def watch(response: httpx2.Response) -> None:
        if response.status_code == 401:
            await response.aread()
            refused.append(_refusal(response))

    try:
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(endpoint(url), http_client=http) as (read, write),
            ClientSession(read, write) as remote,
        ):
            http.event_hooks["response"].append(watch)
            await connect(remote)
            server = relay_server(remote)
            async with stdio_server() as (stdin, stdout):
                await server.run(stdin, stdout, server.create_initialization_options())
    except Exception as exc:
        reason = _diagnosis(exc, refused, endpoint(url))
        if reason is None:
            raise
        raise BridgeError(reason) from None


def _diagnosis(exc: BaseException, refused: list[str], url: str) -> str | None:
    """One line for the failures a person can fix, or None for anything else."""
    if refused:
        return f"Bollard at {url} refused the agent key: {refused[0]}"
    leaves = list(_leaves(exc))
    if any(isinstance(e, httpx2.ConnectError) for e in leaves):
        return f"nothing is listening at {url}: is `bollard serve` running, and is the URL right?"
    if any(isinstance(e, httpx2.TimeoutException) for e in leaves):
        return f"Bollard at {url} did not answer in time"
    status = next((e for e in leaves if isinstance(e, httpx2.HTTPStatusError)), None)
    if status is not None:
        return (
            f"Bollard at {url} answered {status.response.status_code}: {_refusal(status.response)}"
        )
    return None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _refusal(response: httpx2.Response) -> str:
    try:
        message = response.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return str(message or response.reason_phrase or "no reason given")


async def connect(remote: ClientSession) -> None:
    """Speak the stateless 2026-07-28 protocol when Bollard offers it, else the handshake."""
    try:
        await remote.discover()
    except MCPError:
        await remote.initialize()


def relay_server(remote: ClientSession) -> Server[Any]:
    """A server whose every answer is the remote Bollard's."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return await remote.list_tools(params=params)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await remote.call_tool(params.name, params.arguments)

    return Server(
        "bollard",
        version=version("bollard"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
