"""The `bollard` command: one group, each subcommand in its own module.

A subcommand's module is imported only when that command runs (or its own help is
asked for): `bollard --help` lists the commands from `COMMANDS` below, and
`bollard agents list` never imports the MCP SDK, the sandbox or the app.
"""

from __future__ import annotations

import importlib

import click

from bollard.cli.options import DB_KEY, JSON_KEY, CommandError, show_error
from bollard.errors import ConfigError

# Each command: the module defining it (in its COMMANDS) and its one-line help, for
# `bollard --help` (tests/test_cli_lazy.py checks each against the loaded command).
COMMANDS: dict[str, tuple[str, str]] = {
    "admins": (
        "bollard.cli.admins",
        "People who may use the console and its API, each with a role.",
    ),
    "agents": ("bollard.cli.agents", "Create, list, show, revoke and rotate agents."),
    "approvals": (
        "bollard.cli.approvals",
        "Calls held by an approve rule: list, show, approve or deny them.",
    ),
    "audit": (
        "bollard.cli.audit",
        "The tamper-evident audit log: verify, search, tail, export, prune.",
    ),
    "catalog": (
        "bollard.cli.catalog",
        "List Apollo's API methods: path, access, master key, credits.",
    ),
    "check": (
        "bollard.cli.agents",
        "Whether agent NAME may call ACTION (with --args), and why: allowed, denied, or held "
        "for a person (an approve rule); exit 0 if allowed, 1 if denied or held.",
    ),
    "grants": ("bollard.cli.agents", "Add, remove and list an agent's grants."),
    "limits": (
        "bollard.cli.limits",
        "Per-agent rate limits, credit budgets and share of Apollo's windows.",
    ),
    "mcp": (
        "bollard.cli.mcp",
        "Serve MCP on stdin/stdout, relaying every request to the Bollard at --url.",
    ),
    "policy": (
        "bollard.cli.policy",
        "The whole policy (agents, grants, rules, limits, budgets) as one file.",
    ),
    "rules": (
        "bollard.cli.rules",
        "Rules inside actions: deny, hide or hold for approval by a condition on the arguments.",
    ),
    "sandbox": (
        "bollard.cli.sandbox",
        "Run the Apollo API sandbox (every catalog endpoint) with uvicorn.",
    ),
    "serve": ("bollard.cli.serve", "Run the Bollard gateway."),
    "usage": (
        "bollard.cli.limits",
        "Show windows, credits spent and left (for agent NAME, or every agent with limits).",
    ),
}


class _Bollard(click.Group):
    """The group: every error from a subcommand, click's own included, is rendered in one
    place (`show_error`): `Error: ...`, or JSON under --json, and a non-zero exit."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(COMMANDS[cmd_name][0])
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from `COMMANDS`, without importing a command's module."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, name: str, limit: int) -> str:
        # A loaded command's own help; else a stand-in with the same words, cut the same way.
        shown = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
        return shown.get_short_help_str(limit)

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
