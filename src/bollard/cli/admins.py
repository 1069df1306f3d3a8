"""`bollard admins create|list|revoke`: the people who may use the console and its API.

A viewer reads; an approver reads and decides held calls; an admin does everything.
Every change goes through `AdminChanges`, so it is on the audit record, naming
`--actor` (default: your user@host). A new admin's token is printed once.
"""

from __future__ import annotations

import json

import click

from bollard.admins import ROLES, Admin, parse_role
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reason_option, reports_errors


@click.group("admins")
def admins_group() -> None:
    """People who may use the console and its API, each with a role."""


@admins_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
@actor_option
@reason_option
@json_option
@reports_errors
def create_command(
    name: str, role: str, actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Add admin NAME with a role; prints their token once."""
    with options.admin_changes() as changes:
        admin, token = changes.create_admin(options.actor(actor), name, parse_role(role), reason)
    if as_json:
        click.echo(json.dumps({**admin.as_dict(), "token": token}, indent=2))
        return
    click.echo(f"Created admin {admin.name} ({admin.role.value}). Their token, shown only once:")
    click.echo(f"  {token}")
    click.echo("They sign in to the console at /admin with it (or send it as Bearer to the API).")


@admins_group.command("list")
@json_option
@reports_errors
def list_command(as_json: bool) -> None:
    """Every admin: the first (the admin token) and the named ones."""
    with options.admin_changes() as changes:
        found = changes.admins.list()
    if as_json:
        click.echo(json.dumps([a.as_dict() for a in found], indent=2))
        return
    for admin in found:
        click.echo(_line(admin))


@admins_group.command("revoke")
@click.argument("name")
@actor_option
@reason_option
@json_option
@reports_errors
def revoke_command(name: str, actor: str | None, reason: str | None, as_json: bool) -> None:
    """Revoke admin NAME: their token stops and their sessions end now."""
    with options.admin_changes() as changes:
        admin, already = changes.revoke_admin(options.actor(actor), name, reason)
    if as_json:
        click.echo(json.dumps({**admin.as_dict(), "already_revoked": already}, indent=2))
    elif already:
        click.echo(f"{admin.name} was already revoked: no change.")
    else:
        click.echo(f"Revoked {admin.name}: their token stopped and their sessions ended.")


def _line(admin: Admin) -> str:
    if admin.prefix == "":
        return f"{admin.name:<20} {admin.role.value:<9} the admin token of the settings"
    state = f"revoked {admin.revoked_at:%Y-%m-%d}" if admin.revoked_at else "active"
    return f"{admin.name:<20} {admin.role.value:<9} {admin.prefix}…  {state}"


COMMANDS: list[click.Command] = [admins_group]
