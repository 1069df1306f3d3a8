"""`bollard mcp`: relay a stdio MCP client (a desktop assistant) to a Bollard server."""

from __future__ import annotations

import anyio
import click

from bollard.mcp.stdio import endpoint, relay


@click.command("mcp")
@click.option(
    "--url",
    envvar="BOLLARD_URL",
    required=True,
    help="The Bollard server, e.g. http://127.0.0.1:8787 (env BOLLARD_URL).",
)
@click.option(
    "--key",
    envvar="BOLLARD_AGENT_KEY",
    required=True,
    help="The agent's Bollard key (env BOLLARD_AGENT_KEY keeps it out of the process list).",
)
def mcp_command(url: str, key: str) -> None:
    """Serve MCP on stdin/stdout, relaying every request to the Bollard at --url."""
    try:
        endpoint(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    anyio.run(relay, url, key)


COMMANDS: list[click.Command] = [mcp_command]
