"""`bollard policy export|apply|check`: the whole policy as one file, reviewed like code.

`apply` goes through `AdminChanges` (one transaction; each change on the audit record).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bollard.agents import parse_duration, utcnow
from bollard.audit.keyfile import audit_key
from bollard.catalog import load_catalog
from bollard.cli import options
from bollard.cli.options import actor_option, json_option, reason_option, reports_errors
from bollard.cli.rules import admin_changes
from bollard.errors import ConfigError
from bollard.policy_file import Policy, PolicyFileError, parse_policy, policy_json, render_policy
from bollard.policy_sync import apply_policy, read_policy
from bollard.replay import replay
from bollard.store import open_store

FORMATS = ("toml", "json")


def _read(path: Path) -> Policy:
    """The file's policy, or an error naming the file and the line at fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return parse_policy(text, load_catalog())
    except PolicyFileError as exc:
        raise ConfigError(f"{path}: {exc}; nothing was changed") from None


@click.group("policy")
def policy_group() -> None:
    """The whole policy (agents, grants, rules, limits, budgets) as one file."""


@policy_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="toml", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="A file.")
@reports_errors
def export_command(fmt: str, output: Path | None) -> None:
    """Write every live agent's grants, rules and limits, and the team-wide rules (no keys)."""
    with admin_changes() as changes, changes.engine.connect() as conn:
        stored = read_policy(conn, changes.agents).policy
    if fmt == "json":
        text = json.dumps(policy_json(stored), indent=2) + "\n"
    else:
        text = render_policy(stored, utcnow())
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@policy_group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prune", is_flag=True, help="Revoke live agents the file leaves out.")
@click.option("--dry-run", is_flag=True, help="Print the diff; change nothing.")
@actor_option
@reason_option
@json_option
@reports_errors
def apply_command(
    file: Path, prune: bool, dry_run: bool, actor: str | None, reason: str | None, as_json: bool
) -> None:
    """Make the store match FILE in one transaction, printing the diff."""
    wanted = _read(file)
    with admin_changes() as changes:
        done = apply_policy(
            changes, options.actor(actor), wanted, prune=prune, dry_run=dry_run, reason=reason
        )
    if as_json:
        said = {"dry_run": dry_run, "changes": done.diff(), "keys": done.keys}
        click.echo(json.dumps(said, indent=2))
        return
    for line in done.diff():
        click.echo(line)
    if not done.steps:
        click.echo("no changes")
    elif dry_run:
        click.echo(f"dry run: {len(done.steps)} change(s) not applied")
    else:
        click.echo(f"applied {len(done.steps)} change(s), each recorded in the audit log")
    for name, key in done.keys.items():
        click.echo(f"key for {name} (shown once, store it now): {key}")


@policy_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replay", "replaying", is_flag=True, required=True, help="Against the audit log.")
@click.option("--since", default="7d", show_default=True, help="How far back, e.g. 24h, 7d.")
@json_option
@reports_errors
def check_command(file: Path, replaying: bool, since: str, as_json: bool) -> None:
    """Which logged calls FILE would decide differently (allowed → denied, denied → allowed)."""
    wanted = _read(file)
    period = parse_duration(since)
    settings = options.settings()
    since_us = int((utcnow() - period).timestamp() * 1_000_000)
    engine = open_store(settings.database_url)
    try:
        report = replay(engine, load_catalog(), wanted, since_us, audit_key(settings))
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    for line in report.lines(since):
        click.echo(line)


COMMANDS: list[click.Command] = [policy_group]
