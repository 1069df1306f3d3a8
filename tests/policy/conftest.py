"""Policy rules on a real Bollard in front of a real sandbox (the gateway tests' fixtures),
written through `AdminChanges` as every admin change is (`tests.harness`)."""

from __future__ import annotations

from tests.harness import (
    ADMIN,
    Bollard,
    StartBollard,
    add_rule,
    bollard,
    changes,
    cli,
    sandbox,
    start_bollard,
)

__all__ = [
    "ADMIN",
    "Bollard",
    "StartBollard",
    "add_rule",
    "bollard",
    "changes",
    "cli",
    "sandbox",
    "start_bollard",
]
