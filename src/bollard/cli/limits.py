"""`bollard limits set|clear` and `bollard usage [NAME] [--json]`, `bollard usage sync`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bollard.agents import Agents
from bollard.audit.checkpointer import checkpointer_for
from bollard.catalog import load_catalog
from bollard.changes import AdminChanges
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reason_option, reports_errors
from bollard.limits import Limiter, create_limiter
from bollard.limits.rule_store import LIMIT_MAX, rule_dict
from bollard.limits.rules import ALL_ACTIONS, LimitRule
from bollard.limits.usage import usage_fetch, usage_report
from bollard.settings import Settings
from bollard.store import open_store

T = TypeVar("T")
_NUMBERS = ("per_minute", "per_hour", "per_day", "credits_per_day", "credits_per_month")


def _with_limiter(work: Callable[[Limiter], Awaitable[T]], agent: str | None = None) -> T:
    settings = options.settings()
    engine = open_store(settings.database_url)
    if agent is not None:
        try:
            Agents(engine, load_catalog()).require(agent)
        except BaseException:
            engine.dispose()
            raise

    async def run() -> T:
        limiter = create_limiter(settings, engine, load_catalog())
        try:
            return await work(limiter)
        finally:
            await limiter.aclose()

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()


def _action(text: str | None) -> str:
    if text is None:
        return ALL_ACTIONS
    catalog = load_catalog()
    if catalog.get(text) is None:
        hint = ", ".join(catalog.nearest(text))
        raise click.BadParameter(
            f"no action {text!r}" + (f"; did you mean {hint}?" if hint else ""),
            param_hint="--action",
        )
    return text


def _changes_of(work: Callable[[AdminChanges], T]) -> T:
    settings = options.settings()
    engine = open_store(settings.database_url)
    try:
        return work(
            AdminChanges(engine, Agents(engine, load_catalog()), checkpointer_for(settings))
        )
    finally:
        engine.dispose()


_COUNT = click.IntRange(min=0, max=LIMIT_MAX)


@click.group("limits")
def limits_group() -> None:
    """Per-agent rate limits, credit budgets and share of Apollo's windows."""


@limits_group.command("set")
@click.argument("name")
@click.option(
    "--action", help="Limit only this action (e.g. people.enrich); default: every action."
)
@click.option("--per-minute", type=_COUNT, help="Requests per minute.")
@click.option("--per-hour", type=_COUNT, help="Requests per hour.")
@click.option("--per-day", type=_COUNT, help="Requests per day.")
@click.option("--credits-per-day", type=_COUNT, help="Credits per UTC day.")
@click.option("--credits-per-month", type=_COUNT, help="Credits per UTC month.")
@click.option(
    "--share-of-apollo",
    type=click.FloatRange(0, 100, min_open=True),
    help="At most this percent of each of Apollo's windows for an endpoint.",
)
@actor_option
@reason_option
@json_option
@reports_errors
def set_command(
    name: str,
    action: str | None,
    actor: str | None,
    reason: str | None,
    as_json: bool,
    **values: Any,
) -> None:
    """Set limits for agent NAME; options not given keep their current value."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        raise click.UsageError(
            "give at least one limit, e.g. --per-minute 60 or --credits-per-day 500"
        )
    changes = LimitRule(name, _action(action), **given)
    who = options.actor(actor)
    rule = _changes_of(lambda core: core.set_limits(who, changes, reason))
    if as_json:
        click.echo(json.dumps(rule_dict(rule), indent=2))
    else:
        click.echo(f"limits for {_who(rule.agent, rule.action)}: {_describe(rule)}")


@limits_group.command("clear")
@click.argument("name")
@click.option("--action", help="Clear only the limits for this action.")
@actor_option
@reason_option
@json_option
@reports_errors
def clear_command(
    name: str, action: str | None, actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Remove agent NAME's limits (all of them, or those for one action)."""
    only = None if action is None else _action(action)
    who = options.actor(actor)
    gone = _changes_of(lambda core: core.clear_limits(who, name, only, reason))
    if as_json:
        click.echo(json.dumps({"agent": name, "cleared": [rule_dict(r) for r in gone]}))
        return
    what = _who(name, only) if only else f"agent {name!r}"
    if not gone:
        click.echo(f"{what} had no limits to clear; nothing changed")
    else:
        click.echo(f"cleared {len(gone)} limit rule(s) for {what}")


class UsageGroup(click.Group):
    """`bollard usage [NAME]` shows usage; `bollard usage sync` is the one subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A first word that is not a subcommand is the agent's NAME.
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["usage_agent"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


@click.group("usage", cls=UsageGroup, invoke_without_command=True)
@json_option
@click.pass_context
@reports_errors
def usage_group(ctx: click.Context, as_json: bool) -> None:
    """Show windows, credits spent and left (for agent NAME, or every agent with limits).

    Usage: bollard usage [NAME] [--json]  |  bollard usage sync
    """
    if ctx.invoked_subcommand is not None:
        return
    agent = ctx.meta.get("usage_agent")
    report = _with_limiter(lambda limiter: usage_report(limiter, agent), agent)
    click.echo(json.dumps(report, indent=2) if as_json else _render(report))


@usage_group.command("sync")
def sync_command() -> None:
    """Refresh Apollo's windows from its usage-stats endpoint (needs the master key)."""
    fetch = usage_fetch(Settings.from_env())  # needs no database
    if fetch is None:
        raise click.UsageError(
            "usage sync needs Apollo's master key: set BOLLARD_APOLLO_MASTER_KEY "
            "(or BOLLARD_APOLLO_MASTER_KEY_FILE)"
        )
    try:
        stats = _with_limiter(lambda limiter: limiter.sync_usage(fetch))
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(f"usage sync failed: {exc}") from exc
    click.echo(f"synced {len(stats)} windows of {len({s.endpoint for s in stats})} endpoints")


def _who(agent: str, action: str) -> str:
    return f"{agent} ({'every action' if action == ALL_ACTIONS else action})"


def _describe(rule: LimitRule) -> str:
    data = rule_dict(rule)
    parts = [f"{data[k]} {k.replace('_', ' ')}" for k in _NUMBERS if k in data]
    if "share_of_apollo" in data:
        parts.append(f"at most {data['share_of_apollo']:g}% of Apollo's windows")
    return ", ".join(parts) or "none"


def _render(report: dict[str, Any]) -> str:
    """Each agent first; then Apollo's team-wide windows, one line per endpoint in use."""
    lines: list[str] = []
    for agent in report["agents"]:
        lines += _render_agent(agent)
    if not report["agents"]:
        lines.append("no agent has limits; set some with: bollard limits set NAME --per-minute 60")
    lines += ["", *_render_apollo(report["apollo"])]
    lines += [f"{name}: {count}" for name, count in report["events"].items()]
    lines.append(f"(counters: {report['counters']})")
    return "\n".join(lines)


def _render_apollo(windows: list[dict[str, Any]]) -> list[str]:
    by_endpoint: dict[str, list[dict[str, Any]]] = {}
    for w in windows:
        by_endpoint.setdefault(w["endpoint"], []).append(w)
    used = {e: ws for e, ws in by_endpoint.items() if any(w["used"] for w in ws)}
    if not by_endpoint:
        return ["Apollo's team windows: none reported yet (bollard usage sync reads them)"]
    source = windows[0]["source"]
    lines = [f"Apollo's team windows, shared by every agent ({source}):"]
    for endpoint, ws in used.items():
        parts = [f"{w['used']}/{w['limit']} per {w['window']}" for w in ws]
        lines.append(f"  {endpoint}: {', '.join(parts)}")
    if len(used) < len(by_endpoint):
        lines.append(f"  {len(by_endpoint) - len(used)} more endpoint(s) with nothing used")
    return lines


def _render_agent(agent: dict[str, Any]) -> list[str]:
    lines = [f"agent {agent['agent']}"]
    for data in agent["limits"]:
        rule = LimitRule(**data)
        lines.append(f"  limits {_who(rule.agent, rule.action)}: {_describe(rule)}")
    if agent["windows"] is None:
        lines.append("  windows: inside the serving process (BOLLARD_REDIS_URL shows them here)")
    for w in agent["windows"] or []:
        lines.append(
            f"  {w['action']} per {w['window']}: {w['used']} of {w['limit']}, "
            f"resets {w['resets_at']}"
        )
    for c in agent["credits"]:
        lines.append(
            f"  credits {c['action']} per {c['period']}: {c['spent']} spent, "
            f"{c['left']} of {c['budget']} left, resets {c['resets_at']}"
        )
    return lines


COMMANDS: list[click.Command] = [limits_group, usage_group]
