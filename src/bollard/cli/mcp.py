"""`bollard mcp`: relay a stdio MCP client (a desktop assistant) to a Bollard server."""

from __future__ import annotations

import anyio
import click

from bollard.mcp.stdio import BridgeError, endpoint, relay


@click.command("mcp")
@click.option(
    "--url",
    envvar="BOLLARD_URL",
    help="The Bollard server, e.g. http://127.0.0.1:8787 (env BOLLARD_URL).",
)
@click.option(
    "--key",
    envvar="BOLLARD_AGENT_KEY",
    help="The agent's Bollard key (env BOLLARD_AGENT_KEY keeps it out of the process list).",
)
def mcp_command(url: str | None, key: str | None) -> None:
    """Serve MCP on stdin/stdout, relaying every request to the Bollard at --url."""
    if not url:
        raise click.UsageError(
            "no Bollard URL: set BOLLARD_URL (or pass --url), e.g. http://127.0.0.1:8787"
        )
    if not key:
        raise click.UsageError(
            "no agent key: set BOLLARD_AGENT_KEY to the agent's Bollard key (or pass --key)"
        )
    try:
        endpoint(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    try:
        anyio.run(relay, url, key)
    except BridgeError as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS: list[click.Command] = [mcp_command]
