"""`bollard approvals list|show|approve|deny`: held calls, decided by a named person.

A decision goes through `AdminChanges`, so it is on the audit record with the actor
(`--actor`, else the operating-system user at this host), like any other change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click

from bollard.agents import Agents, utcnow
from bollard.approvals import STATUSES, Approvals, HeldCall
from bollard.audit.checkpointer import checkpointer_for
from bollard.catalog import load_catalog
from bollard.changes import AdminChanges
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reports_errors
from bollard.store import open_store


@contextmanager
def _approvals() -> Iterator[Approvals]:
    settings = options.settings()
    engine = open_store(settings.database_url)
    try:
        checkpointer = checkpointer_for(settings)
        changes = AdminChanges(engine, Agents(engine, load_catalog()), checkpointer)
        yield Approvals(engine, changes, checkpointer=checkpointer)
    finally:
        engine.dispose()


def _line(held: HeldCall, now: datetime) -> str:
    status = held.effective_status(now)
    left = ""
    if status == "pending":
        minutes = int((held.expires_at - now).total_seconds() // 60)
        left = f", {minutes // 60}h{minutes % 60:02d}m left"
    return (
        f"{held.id}  {status:<8}  {held.agent}  {held.action}  "
        f"≤{held.credits} credits{left}  rule #{held.rule}: {held.reason}"
    )


def _details(held: HeldCall, now: datetime) -> str:
    lines = [
        f"approval   {held.id} ({held.effective_status(now)})",
        f"agent      {held.agent}",
        f"action     {held.action}",
        f"arguments  {json.dumps(dict(held.args), indent=2, sort_keys=True)}",
        f"credits    at most {held.credits} ({held.reckoning})",
        f"rule       #{held.rule}: {held.reason}",
        f"held at    {held.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"expires    {held.expires_at:%Y-%m-%d %H:%M:%S} UTC",
        f"digest     sha256:{held.digest}",
    ]
    if held.decided_by:
        lines.append(f"decided by {held.decided_by} at {held.decided_at:%Y-%m-%d %H:%M:%S} UTC")
    if held.note:
        lines.append(f"note       {held.note}")
    if held.executed_at:
        lines.append(f"sent at    {held.executed_at:%Y-%m-%d %H:%M:%S} UTC")
    return "\n".join(lines)


@click.group("approvals")
def approvals_group() -> None:
    """Calls held by an approve rule: list, show, approve or deny them."""


@approvals_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only approvals in this status.")
@json_option
@reports_errors
def list_command(status: str | None, as_json: bool) -> None:
    """Held calls, newest first."""
    with _approvals() as approvals:
        found = approvals.list(status)
    now = utcnow()
    if as_json:
        click.echo(json.dumps([h.as_dict(now) for h in found], indent=2))
        return
    for held in found:
        click.echo(_line(held, now))
    if not found:
        click.echo(f"no {status} approvals" if status else "no approvals")


@approvals_group.command("show")
@click.argument("approval_id")
@json_option
@reports_errors
def show_command(approval_id: str, as_json: bool) -> None:
    """One held call in full: arguments, credit quote, agent, rule and reason."""
    with _approvals() as approvals:
        held = approvals.require(approval_id)
    now = utcnow()
    click.echo(json.dumps(held.as_dict(now), indent=2) if as_json else _details(held, now))


@approvals_group.command("approve")
@click.argument("approval_id")
@click.option("--note", help="Kept in the decision's audit record.")
@actor_option
@json_option
@reports_errors
def approve_command(approval_id: str, note: str | None, actor: str | None, as_json: bool) -> None:
    """Approve a pending call: the agent's next poll sends it to Apollo, once."""
    with _approvals() as approvals:
        held = approvals.approve(approval_id, options.actor(actor), note)
    if as_json:
        click.echo(json.dumps(held.as_dict(utcnow()), indent=2))
        return
    click.echo(f"approved {held.id} ({held.agent} {held.action}); sent on the agent's next poll")


@approvals_group.command("deny")
@click.argument("approval_id")
@click.option("--reason", required=True, help="Told to the agent; kept in the audit record.")
@actor_option
@json_option
@reports_errors
def deny_command(approval_id: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Deny a pending call: nothing is sent, and the agent reads the reason."""
    with _approvals() as approvals:
        held = approvals.deny(approval_id, options.actor(actor), reason)
    if as_json:
        click.echo(json.dumps(held.as_dict(utcnow()), indent=2))
        return
    click.echo(f"denied {held.id} ({held.agent} {held.action}): {reason}")


COMMANDS: list[click.Command] = [approvals_group]
