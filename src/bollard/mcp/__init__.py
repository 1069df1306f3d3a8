"""The MCP front door: the same grants and the same audit log, for AI assistants.

tools     the catalog as MCP tools and gateway results as tool results (pure)
sessions  session ids bound to an agent, checkable by any replica (pure)
server    the SDK's low-level server, its handlers calling the gateway
door      the ASGI app at /mcp: origin, key and session checks, then the SDK
stdio     `bollard mcp`: a stdio server relaying to a Bollard over HTTP

This package is `bollard.mcp`; the SDK is the top-level `mcp`. Absolute
imports keep the two apart.
"""
