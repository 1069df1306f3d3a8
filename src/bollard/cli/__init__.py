"""The `bollard` command: one group, each subcommand in its own module."""

from __future__ import annotations

import click

from bollard.cli import agents, audit, catalog, limits, mcp, sandbox, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bollard")
def main() -> None:
    """Bollard: a checked, audited gateway between AI agents and the Apollo.io API."""


for module in (catalog, sandbox, agents, serve, limits, mcp, audit):
    for command in module.COMMANDS:
        main.add_command(command)
