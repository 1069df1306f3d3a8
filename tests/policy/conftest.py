"""Policy rules on a real Bollard in front of a real sandbox (the gateway tests' fixtures),
written through `AdminChanges` as every admin change is."""

from __future__ import annotations

from collections.abc import Sequence

from click.testing import CliRunner, Result

from bollard.changes import Actor, AdminChanges
from bollard.cli import main
from bollard.policy import Rule
from tests.gateway.conftest import Bollard, StartBollard, bollard, sandbox, start_bollard

__all__ = [
    "Bollard",
    "StartBollard",
    "add_rule",
    "bollard",
    "changes",
    "cli",
    "sandbox",
    "start_bollard",
]

ADMIN = Actor("alice@example.com", "cli")


def changes(bollard: Bollard) -> AdminChanges:
    """The server's own way of making admin changes (its checkpointer seals the records)."""
    return AdminChanges(bollard.engine, bollard.agents, bollard.gateway.audit.checkpointer)


def add_rule(
    bollard: Bollard,
    agent: str | None,
    selector: str,
    effect: str = "deny",
    when: str | None = None,
    *,
    fields: Sequence[str] = (),
    shadow: bool = False,
    reason: str = "",
) -> Rule:
    rule = Rule(0, agent, selector, effect, reason, when, tuple(fields), shadow)
    return changes(bollard).add_rule(ADMIN, rule)


def cli(bollard: Bollard, *args: str) -> Result:
    """The real CLI on the server's database and state (its audit key seals the records)."""
    env = {
        "BOLLARD_DATABASE_URL": bollard.settings.database_url,
        "BOLLARD_STATE_DIR": str(bollard.settings.state_dir),
    }
    if bollard.settings.audit_key is not None:
        env["BOLLARD_AUDIT_KEY"] = bollard.settings.audit_key.get_secret_value()
    return CliRunner().invoke(main, list(args), env=env)
