"""A real Bollard on loopback in front of a real sandbox on loopback.

The machinery lives in `tests.harness`; this file registers its fixtures (`sandbox`,
`start_bollard`, `bollard`) for the gateway tests and keeps the names importable
from here.
"""

from __future__ import annotations

from tests.harness import (
    AUDIT_KEY,
    MASTER_KEY,
    SCOPED_KEY,
    Bollard,
    StartBollard,
    audit_insert_trigger,
    bollard,
    keys_made_uncheckable,
    sandbox,
    sandbox_config,
    start_bollard,
)

__all__ = [
    "AUDIT_KEY",
    "MASTER_KEY",
    "SCOPED_KEY",
    "Bollard",
    "StartBollard",
    "audit_insert_trigger",
    "bollard",
    "keys_made_uncheckable",
    "sandbox",
    "sandbox_config",
    "start_bollard",
]
