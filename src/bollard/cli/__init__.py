"""The `bollard` command: one group, each subcommand in its own module."""

from __future__ import annotations

import click

from bollard.cli import agents, audit, catalog, limits, mcp, sandbox, serve
from bollard.errors import ConfigError


class _Bollard(click.Group):
    """The group: a ConfigError from any subcommand is `error: ...` and exit 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Bollard, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bollard")
def main() -> None:
    """Bollard: a checked, audited gateway between AI agents and the Apollo.io API."""


for module in (catalog, sandbox, agents, serve, limits, mcp, audit):
    for command in module.COMMANDS:
        main.add_command(command)
