"""`bollard agents`, `bollard grants` and `bollard check`: the admin's view of agents.

Every command opens the database `--db` names or finds (see `cli.database`),
accepts `--json`, and reports a bad input as `Error: ...` with exit code 2. Every
change goes through `AdminChanges`: made and audited in one transaction, naming
`--actor` (default: your user@host) and `--reason` if given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from bollard.agents import Agent, Agents, in_words, parse_duration, utcnow
from bollard.catalog import Action, load_catalog
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reason_option, reports_errors
from bollard.errors import ConfigError
from bollard.policy import CompiledRule, Verdict, compile_stored
from bollard.rule_book import load_rules
from bollard.store import open_store

if TYPE_CHECKING:
    from bollard.replay import Judgement

# What only a change, `check` or a held call needs (the audit writer, replay, approvals)
# is imported where it is used: `bollard agents list` reads the store and little more.

SOON = timedelta(hours=1)  # a key that stops sooner than this gets a warning


@contextmanager
def _repository(create: bool = False) -> Iterator[Agents]:
    engine = open_store(options.settings(create=create).database_url)
    try:
        yield Agents(engine, load_catalog())
    finally:
        engine.dispose()


def _stamp(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _agent_json(agent: Agent, now: datetime) -> dict[str, Any]:
    return {
        "name": agent.name,
        "status": agent.status(now),
        "grants": list(agent.grants),
        "note": agent.note,
        "created_at": _stamp(agent.created_at),
        "expires_at": _stamp(agent.expires_at),
        "revoked_at": _stamp(agent.revoked_at),
        "allow_unknown_parameters": agent.allow_unknown_parameters,
    }


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2))


def _describe(agent: Agent, now: datetime) -> str:
    lines = [
        f"agent:   {agent.name} ({agent.status(now)})",
        f"grants:  {', '.join(agent.grants) or 'none (allowed nothing)'}",
        f"created: {agent.created_at:%Y-%m-%d %H:%M} UTC",
    ]
    if agent.expires_at is not None:
        lines.append(f"expires: {_until(agent.expires_at, now)}")
    if agent.revoked_at is not None:
        lines.append(f"revoked: {agent.revoked_at:%Y-%m-%d %H:%M} UTC")
    if agent.note:
        lines.append(f"note:    {agent.note}")
    lines.append(f"unknown parameters: {_unknown_text(agent)}")
    return "\n".join(lines)


def _unknown_text(agent: Agent) -> str:
    if agent.allow_unknown_parameters:
        return "sent to Apollo, each recorded as a warning (--allow-unknown-parameters)"
    return "refused with the nearest parameter names (the default)"


def _echo_key(key: str) -> None:
    click.echo("\nKey, shown only once (Bollard keeps only its hash; store it now):")
    click.echo(f"  {key}")


@click.group("agents")
def agents_group() -> None:
    """Create, list, show, revoke and rotate agents."""


def _until(moment: datetime, now: datetime) -> str:
    """`in 3 minutes, at 2026-12-07 21:03 UTC` (or `... ago` once past)."""
    at = f"{moment:%Y-%m-%d %H:%M} UTC"
    if moment <= now:
        return f"{in_words(now - moment)} ago, at {at}"
    return f"in {in_words(moment - now)}, at {at}"


def _warn_if_soon(what: str, moment: datetime, now: datetime) -> None:
    if moment - now < SOON:
        click.echo(
            f"Warning: {what} stops working within the hour ({_until(moment, now)}); "
            "m means minutes: for hours or days write h or d (e.g. 3h, 3d)",
            err=True,
        )


@agents_group.command("create")
@click.argument("name")
@click.option("--grant", "grants", multiple=True, help="A selector: people.search, people:read…")
@click.option(
    "--expires",
    metavar="DURATION",
    help="The agent stops working after this long: 90m (minutes), 12h (hours), "
    "30d (days), 1w (weeks). Default: never.",
)
@click.option("--note", default="", help="What the agent is for.")
@actor_option
@reason_option
@json_option
@reports_errors
def create_command(
    name: str,
    grants: tuple[str, ...],
    expires: str | None,
    note: str,
    actor: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Create agent NAME and print its key, once."""
    now = utcnow()
    expires_at = now + parse_duration(expires) if expires is not None else None
    who = options.actor(actor)
    with options.admin_changes(create=True) as changes:
        agent, key = changes.create_agent(
            who, name, grants, expires_at=expires_at, note=note, reason=reason
        )
    if expires_at is not None:
        _warn_if_soon("this agent", expires_at, now)
    if as_json:
        _echo_json({"agent": _agent_json(agent, now), "key": key, "key_shown_once": True})
        return
    click.echo(_describe(agent, now))
    _echo_key(key)


@agents_group.command("list")
@json_option
@reports_errors
def list_command(as_json: bool) -> None:
    """List every agent with its status and grants."""
    now = utcnow()
    with _repository() as repo:
        found = repo.list()
    if as_json:
        _echo_json([_agent_json(a, now) for a in found])
        return
    if not found:
        click.echo("no agents yet; create one with: bollard agents create NAME --grant SELECTOR")
        return
    width = max(len(a.name) for a in found)
    for agent in found:
        grants = ", ".join(agent.grants) or "-"
        click.echo(f"{agent.name:<{width}}  {agent.status(now):<7}  {grants}")


@agents_group.command("show")
@click.argument("name")
@json_option
@reports_errors
def show_command(name: str, as_json: bool) -> None:
    """Show agent NAME."""
    now = utcnow()
    with _repository() as repo:
        agent = repo.require(name)
    click.echo(json.dumps(_agent_json(agent, now), indent=2) if as_json else _describe(agent, now))


@agents_group.command("set")
@click.argument("name")
@click.option(
    "--allow-unknown-parameters/--no-allow-unknown-parameters",
    "allow_unknown",
    default=None,
    help="Send parameters an action does not take to Apollo (which ignores them), each "
    "recorded as a warning, instead of refusing the call (the default).",
)
@actor_option
@reason_option
@json_option
@reports_errors
def set_command(
    name: str, allow_unknown: bool | None, actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Change agent NAME's settings."""
    if allow_unknown is None:
        raise ConfigError(
            "nothing to set: give --allow-unknown-parameters or --no-allow-unknown-parameters"
        )
    now = utcnow()
    who = options.actor(actor)
    with options.admin_changes() as changes:
        agent = changes.set_allow_unknown_parameters(who, name, allow_unknown, reason)
    if as_json:
        _echo_json(_agent_json(agent, now))
        return
    click.echo(f"agent {agent.name!r}: unknown parameters {_unknown_text(agent)}")


@agents_group.command("revoke")
@click.argument("name")
@actor_option
@reason_option
@json_option
@reports_errors
def revoke_command(name: str, actor: str | None, reason: str | None, as_json: bool) -> None:
    """Revoke agent NAME and all its keys, from its next call on."""
    now = utcnow()
    who = options.actor(actor)
    with options.admin_changes() as changes:
        done = changes.revoke(who, name, reason)
    agent = done.agent
    if as_json:
        _echo_json({**_agent_json(agent, now), "already_revoked": done.already})
    elif done.already and agent.revoked_at is not None:
        click.echo(
            f"agent {agent.name!r} was already revoked ({_until(agent.revoked_at, now)}); "
            "nothing changed"
        )
    else:
        click.echo(f"revoked agent {agent.name!r} and all its keys")


@agents_group.command("rotate")
@click.argument("name")
@click.option(
    "--grace",
    metavar="DURATION",
    help="Old keys keep working this long: 90m (minutes), 12h (hours), 30d (days), 1w (weeks).",
)
@actor_option
@reason_option
@json_option
@reports_errors
def rotate_command(
    name: str, grace: str | None, actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Give agent NAME a new key; old keys stop now, or after --grace."""
    period = parse_duration(grace) if grace is not None else None
    now = utcnow()
    who = options.actor(actor)
    with options.admin_changes() as changes:
        done = changes.rotate(who, name, period, reason)
    if as_json:
        _echo_json(
            {
                "agent": name,
                "key": done.key,
                "key_shown_once": True,
                "old_keys": "revoked"
                if period is None
                else f"expire at {_stamp(done.old_keys_until)}",
                "old_keys_until": _stamp(done.old_keys_until),
            }
        )
        return
    if period is None:
        click.echo(f"new key for {name!r}; its old keys stopped working now")
    else:
        old = _until(done.old_keys_until, now)
        click.echo(f"new key for {name!r}; its old keys keep working until then: {old}")
        _warn_if_soon("the old key", done.old_keys_until, now)
    _echo_key(done.key)


@click.group("grants")
def grants_group() -> None:
    """Add, remove and list an agent's grants."""


def _echo_grants(agent: Agent, as_json: bool) -> None:
    if as_json:
        _echo_json({"agent": agent.name, "grants": list(agent.grants)})
    elif agent.grants:
        click.echo("\n".join(agent.grants))
    else:
        click.echo(f"{agent.name!r} has no grants: it may call nothing")


@grants_group.command("add")
@click.argument("name")
@click.argument("selectors", nargs=-1, required=True)
@actor_option
@reason_option
@json_option
@reports_errors
def grants_add_command(
    name: str, selectors: tuple[str, ...], actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Grant agent NAME the SELECTORS (action ids or resource:access)."""
    who = options.actor(actor)
    with options.admin_changes() as changes:
        _echo_grants(changes.change_grants(who, name, add=selectors, reason=reason), as_json)


@grants_group.command("remove")
@click.argument("name")
@click.argument("selectors", nargs=-1, required=True)
@actor_option
@reason_option
@json_option
@reports_errors
def grants_remove_command(
    name: str, selectors: tuple[str, ...], actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Take SELECTORS away from agent NAME."""
    who = options.actor(actor)
    with options.admin_changes() as changes:
        _echo_grants(changes.change_grants(who, name, remove=selectors, reason=reason), as_json)


@grants_group.command("list")
@click.argument("name")
@json_option
@reports_errors
def grants_list_command(name: str, as_json: bool) -> None:
    """List agent NAME's grants."""
    with _repository() as repo:
        agent = repo.require(name)
    _echo_grants(agent, as_json)


@click.command("check")
@click.argument("name")
@click.argument("action_id", metavar="ACTION")
@click.option(
    "--args",
    "args_json",
    metavar="JSON",
    help="The call's arguments, to apply the policy rules to, e.g. '{\"per_page\": 50}'.",
)
@json_option
@reports_errors
def check_command(name: str, action_id: str, args_json: str | None, as_json: bool) -> None:
    """Whether agent NAME may call ACTION (with --args), and why: allowed, denied, or held
    for a person (an approve rule); exit 0 if allowed, 1 if denied or held."""
    catalog = load_catalog()
    action = catalog.get(action_id)
    if action is None:
        hint = ", ".join(catalog.nearest(action_id)) or ", ".join(a.id for a in catalog.actions)
        raise ConfigError(f"no action {action_id!r}; did you mean {hint}?")
    args = _call_args(args_json)
    now = utcnow()
    with _repository() as repo, repo.engine.connect() as conn:
        agent = repo.require(name)
        rules = tuple(compile_stored(r, catalog) for r in load_rules(conn, name))
    status = agent.status(now)
    allow_unknown = agent.allow_unknown_parameters
    from bollard.replay import judge  # it loads the audit package: only `check` needs it

    judged = judge(agent.grants, rules, action, args, name, now, allow_unknown=allow_unknown)
    outcome = judged.outcome if status == "active" else "deny"
    reason = judged.reason if status == "active" else f"agent {name!r} is {status}"
    if judged.decision.allowed and judged.outcome != "allow" and status == "active":
        said = {"deny": "denied by policy", "held": "held for approval"}[judged.outcome]
        if judged.unknown:
            said = "refused (UNKNOWN_PARAMETER)"
        reason = f"{said}: {judged.reason}"
    if as_json:
        _echo_json(_check_json(agent, action, judged, outcome, reason, status))
    else:
        word = {"allow": "allowed", "deny": "denied", "held": "held"}[outcome]
        click.echo(f"{word}: {name} → {action.id}: {reason}")
        if status != "active" and not judged.decision.allowed:
            click.echo(f"also {judged.decision.reason}")
        _echo_rules(rules, judged.verdict)
        if outcome == "held":
            click.echo(f"a person approves it (bollard approvals list); {_hold_words(judged)}")
        if action.master_key:
            click.echo(f"note: {action.id} needs Apollo's master key (BOLLARD_APOLLO_MASTER_KEY)")
    raise SystemExit(0 if outcome == "allow" else 1)


def _check_json(
    agent: Agent, action: Action, judged: Judgement, outcome: str, reason: str, status: str
) -> dict[str, Any]:
    decision = judged.decision
    hold = judged.verdict.hold
    return {
        "agent": agent.name,
        "action": action.id,
        "allowed": outcome == "allow",
        "outcome": outcome,
        "reason": reason,
        "grant": decision.grant,
        "would_allow": list(decision.would_allow),
        "agent_status": status,
        "needs_master_key": action.master_key,
        "rules": list(judged.verdict.applied),
        "hidden": list(judged.verdict.hidden),
        "unknown_parameters": list(judged.unknown),
        "allow_unknown_parameters": agent.allow_unknown_parameters,
        "held_by_rule": hold.rule if hold is not None and outcome == "held" else None,
        "expires_after": _hold_seconds(judged) if outcome == "held" else None,
    }


def _echo_rules(rules: tuple[CompiledRule, ...], verdict: Verdict) -> None:
    by_id = {r.rule.id: r.rule for r in rules}
    for applied in verdict.applied:
        rule = by_id.get(applied["rule"])
        said = f" ({rule.describe().split(' ', 1)[1]})" if rule is not None else ""
        click.echo(f"rule #{applied['rule']}: {_applied(applied)}{said}")
    if verdict.hidden:
        click.echo(f"fields withheld from the answer: {', '.join(verdict.hidden)}")


def _hold_seconds(judged: Judgement) -> int:
    hold = judged.verdict.hold
    seconds = hold.seconds if hold is not None else None
    from bollard.approvals import DEFAULT_EXPIRY

    return seconds if seconds is not None else int(DEFAULT_EXPIRY.total_seconds())


def _hold_words(judged: Judgement) -> str:
    return f"the call waits {in_words(timedelta(seconds=_hold_seconds(judged)))}, then expires"


def _call_args(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"--args is not JSON ({exc}); e.g. --args '{{\"per_page\": 50}}'"
        ) from None
    if not isinstance(args, dict):
        raise ConfigError("--args must be a JSON object of argument names and values")
    return args


def _applied(entry: dict[str, Any]) -> str:
    text = str(entry.get("shadow") or entry["effect"])
    return f"{text} ({entry['error']})" if "error" in entry else text


COMMANDS: list[click.Command] = [agents_group, grants_group, check_command]
