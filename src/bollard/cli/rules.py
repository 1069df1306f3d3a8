"""`bollard rules add|list|remove`: policy rules inside actions (bollard.policy).

Every change goes through `AdminChanges`, so it is on the audit record like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bollard.agents import Agents
from bollard.audit.checkpointer import checkpointer_for
from bollard.catalog import load_catalog
from bollard.changes import AdminChanges
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reason_option, reports_errors
from bollard.policy import EFFECTS, Rule, fix_hint
from bollard.policy_file import expiry_seconds
from bollard.rule_book import load_rules, stale_rules
from bollard.store import open_store


@contextmanager
def admin_changes() -> Iterator[AdminChanges]:
    """The admin-change service on the database `--db` names (or that is found)."""
    settings = options.settings()
    engine = open_store(settings.database_url)
    try:
        yield AdminChanges(engine, Agents(engine, load_catalog()), checkpointer_for(settings))
    finally:
        engine.dispose()


def _split(given: tuple[str, ...], all_agents: bool, what: str) -> tuple[str | None, str]:
    """(AGENT or None for --all-agents, the other argument) from `[AGENT] WHAT`."""
    if all_agents and len(given) == 1:
        return None, given[0]
    if not all_agents and len(given) == 2:
        return given[0], given[1]
    raise click.UsageError(f"give AGENT {what}, or --all-agents {what} for a team-wide rule")


@click.group("rules")
def rules_group() -> None:
    """Rules inside actions: deny, hide or hold for approval by a condition on the arguments."""


@rules_group.command("add")
@click.argument("given", nargs=-1, metavar="[AGENT] SELECTOR")
@click.option("--all-agents", is_flag=True, help="A team-wide rule, instead of AGENT's.")
@click.option("--effect", type=click.Choice(EFFECTS), required=True, help="What the rule does.")
@click.option("--when", "condition", metavar="EXPR", help="A CEL condition over args, agent, ...")
@click.option("--fields", metavar="F,...", help="For --effect hide: the fields withheld.")
@click.option("--shadow", is_flag=True, help="Evaluate and record 'would deny'; never enforce.")
@click.option(
    "--expires-after",
    metavar="DURATION",
    help="For --effect approve: how long a held call waits for a person (default 24h).",
)
@click.option(
    "--reason", help="Shown to the agent when the rule denies; kept in the change's record."
)
@actor_option
@json_option
@reports_errors
def add_command(
    given: tuple[str, ...],
    all_agents: bool,
    effect: str,
    condition: str | None,
    fields: str | None,
    shadow: bool,
    expires_after: str | None,
    actor: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Add a rule to AGENT (or --all-agents) for SELECTOR (an action id or <resource>:<access>)."""
    whose, selector = _split(given, all_agents, "SELECTOR")
    names = tuple(f.strip() for f in (fields or "").split(",") if f.strip())
    hold = expiry_seconds(expires_after) if expires_after else None
    rule = Rule(0, whose, selector.strip(), effect, reason or "", condition, names, shadow, hold)
    with admin_changes() as changes:
        added = changes.add_rule(options.actor(actor), rule, reason)
    click.echo(
        json.dumps(added.as_dict(), indent=2) if as_json else f"added rule {added.describe()}"
    )


@rules_group.command("list")
@click.argument("agent", required=False)
@json_option
@reports_errors
def list_command(agent: str | None, as_json: bool) -> None:
    """Every rule, or AGENT's and the team-wide ones."""
    with admin_changes() as changes, changes.engine.connect() as conn:
        if agent is not None:
            changes.agents.require(agent, conn)
        rules = load_rules(conn, agent)
    broken = {c.rule.id: c.broken for c in stale_rules(rules, changes.agents.catalog)}
    if as_json:
        listed = [{**r.as_dict(), "broken": broken.get(r.id)} for r in rules]
        click.echo(json.dumps(listed, indent=2))
        return
    for rule in rules:
        click.echo(rule.describe())
        if rule.id in broken:
            click.echo(
                f"  BROKEN: no longer fits the catalog ({broken[rule.id]}); the calls it "
                f"covers are denied until you {fix_hint(rule)}"
            )
    if not rules:
        click.echo("no rules")


@rules_group.command("remove")
@click.argument("given", nargs=-1, metavar="[AGENT] RULE_ID")
@click.option("--all-agents", is_flag=True, help="Remove a team-wide rule.")
@actor_option
@reason_option
@json_option
@reports_errors
def remove_command(
    given: tuple[str, ...],
    all_agents: bool,
    actor: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Remove rule RULE_ID of AGENT (or a team-wide one, with --all-agents)."""
    whose, rule_id = _split(given, all_agents, "RULE_ID")
    if not rule_id.lstrip("#").isdigit():
        raise click.UsageError(
            f"RULE_ID is a number, as `bollard rules list` shows: not {rule_id!r}"
        )
    with admin_changes() as changes:
        gone = changes.remove_rule(options.actor(actor), whose, int(rule_id.lstrip("#")), reason)
    click.echo(
        json.dumps(gone.as_dict(), indent=2) if as_json else f"removed rule {gone.describe()}"
    )


COMMANDS: list[click.Command] = [rules_group]
