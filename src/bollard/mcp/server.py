"""The SDK's low-level MCP server, wired to the gateway.

`tools/list` answers with the tools of the actions the calling agent is
granted, and `tools/call` hands the call to the gateway unchanged, so the
decisions, the limits and the audit record are the pipeline's. The door
(`bollard.mcp.door`) authenticates each HTTP request before the SDK sees it
and leaves the agent and its key in the ASGI scope, where these handlers
read them back through the SDK's request context.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from bollard.agents import Agent
from bollard.calls import Call, ToolTarget
from bollard.errors import Unauthenticated
from bollard.gateway import Gateway
from bollard.mcp import tools
from bollard.mcp.narrowing import narrowed
from bollard.policy import holds_calls

SCOPE_AGENT = "bollard.agent"
SCOPE_KEY = "bollard.key"

INSTRUCTIONS = (
    "Bollard gives this agent the Apollo.io actions it was granted, one tool each, "
    "named as Apollo's own MCP server names them. Every call is checked and logged. "
    "Tool descriptions state the credit cost and limits: keep per_page small, split "
    "bulk calls, and expect phone numbers at a webhook rather than in the answer."
)


def create_server(gateway: Gateway) -> Server[Any]:
    """An MCP server whose tools are the calling agent's granted actions, their schemas
    narrowed by its rules where a schema can say them (`bollard.mcp.narrowing`)."""
    catalog_tools = {a.mcp_tool: tools.tool(a) for a in gateway.catalog.actions}
    status_tool = tools.status_tool()

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        agent = _agent(ctx)
        rules = await gateway.rules_for(agent)
        listed = [
            narrowed(catalog_tools[a.mcp_tool], a, rules) for a in gateway.visible_actions(agent)
        ]
        tools = [t for t in listed if t is not None]
        if holds_calls(rules):
            tools.append(status_tool)
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name == tools.STATUS_TOOL:
            approval_id = (params.arguments or {}).get("approval_id")
            result = await gateway.approval_status("mcp", _key(ctx), str(approval_id or ""))
            return tools.call_result(params.name, result, gateway.catalog.get(result.action or ""))
        target = ToolTarget(params.name, dict(params.arguments or {}))
        agent = _scope(ctx).get(SCOPE_AGENT)  # the door's; if missing, the gateway's 401
        known = agent if isinstance(agent, Agent) else None
        result = await gateway.handle(Call("mcp", _key(ctx), target, agent=known))
        return tools.call_result(params.name, result, gateway.catalog.by_tool(params.name))

    def no_param_headers(name: str) -> dict[str, Any] | None:
        return None

    return Server(
        "bollard",
        version=version("bollard"),
        title="Bollard: Apollo.io for AI agents",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        # On the 2026-07-28 wire the SDK checks `Mcp-Param-*` headers against the
        # schema's `x-mcp-header` marks, running tools/list to find them unless told
        # otherwise. Our schemas declare none: nothing to check, no listing per call.
        get_tool_input_schema=no_param_headers,
    )


def _agent(ctx: ServerRequestContext[Any]) -> Agent:
    agent = _scope(ctx).get(SCOPE_AGENT)
    if not isinstance(agent, Agent):  # only reachable if the door was bypassed
        raise Unauthenticated("no authenticated agent on this request")
    return agent


def _key(ctx: ServerRequestContext[Any]) -> str | None:
    key = _scope(ctx).get(SCOPE_KEY)
    return key if isinstance(key, str) else None


def _scope(ctx: ServerRequestContext[Any]) -> dict[str, Any]:
    request = ctx.request
    scope = getattr(request, "scope", None)
    return scope if isinstance(scope, dict) else {}
