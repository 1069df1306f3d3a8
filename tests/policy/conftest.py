"""Policy rules on a real Bollard in front of a real sandbox (the gateway tests' fixtures),
written through `AdminChanges` as every admin change is."""

from __future__ import annotations

from collections.abc import Sequence

from bollard.changes import Actor, AdminChanges
from bollard.policy import Rule
from tests.gateway.conftest import Bollard, StartBollard, bollard, sandbox, start_bollard

__all__ = ["Bollard", "StartBollard", "add_rule", "bollard", "sandbox", "start_bollard"]

ADMIN = Actor("alice@example.com", "cli")


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
    return AdminChanges(bollard.engine, bollard.agents).add_rule(ADMIN, rule)
