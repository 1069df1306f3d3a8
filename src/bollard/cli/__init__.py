"""The `bollard` command: one group, each subcommand in its own module."""

from __future__ import annotations

import click

from bollard.cli import (
    admins,
    agents,
    approvals,
    audit,
    catalog,
    limits,
    mcp,
    policy,
    rules,
    sandbox,
    serve,
)
from bollard.cli.options import DB_KEY, JSON_KEY, CommandError, show_error
from bollard.errors import ConfigError


class _Bollard(click.Group):
    """The group: every error from a subcommand, click's own included, is rendered in one
    place (`show_error`): `Error: ...`, or JSON under --json, and a non-zero exit."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[JSON_KEY] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            try:
                return super().invoke(ctx)
            except ConfigError as exc:
                raise CommandError(str(exc)) from None
        except click.ClickException as exc:
            if not ctx.meta.get(JSON_KEY):
                raise  # click shows it (with the usage line for a usage error)
            show_error(exc, as_json=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Bollard, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bollard")
@click.option(
    "--db",
    metavar="PATH|URL",
    help="The database: a bollard.db path or a database URL (default: BOLLARD_DATABASE_URL, "
    "else the bollard.db here or in the nearest directory above).",
)
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """Bollard: a checked, audited gateway between AI agents and the Apollo.io API."""
    ctx.meta[DB_KEY] = db


for module in (
    catalog,
    sandbox,
    agents,
    admins,
    serve,
    limits,
    mcp,
    audit,
    rules,
    policy,
    approvals,
):
    for command in module.COMMANDS:
        main.add_command(command)
