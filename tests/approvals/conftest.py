"""Held calls on a real Bollard in front of a real sandbox (the gateway tests' fixtures),
with a clock the test moves, and an `approve` rule on sequence enrolment."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bollard.approvals import Approvals
from bollard.changes import Actor
from tests.harness import Bollard, StartBollard, add_rule, bollard, changes, sandbox, start_bollard

__all__ = [
    "APPROVER",
    "Bollard",
    "Clock",
    "Enrolment",
    "StartBollard",
    "add_rule",
    "approvals",
    "bollard",
    "changes",
    "enrolment",
    "enrolments",
    "sandbox",
    "start_bollard",
]

APPROVER = Actor("alice@example.com", "cli")


@dataclass
class Clock:
    """Time as the test says: starts now, moves only when told."""

    at: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


def approvals(bollard: Bollard) -> Approvals:
    """The server's own approvals service (its clock, its checkpointer)."""
    return bollard.gateway.approvals


def enrolments(bollard: Bollard) -> int:
    """How many sequence enrolments reached the sandbox."""
    return sum(1 for c in bollard.sandbox.calls if c.action_id == "sequences.add_contacts")


@dataclass(frozen=True)
class Enrolment:
    """A real enrolment in the sandbox: the path, and bodies for one or another contact."""

    path: str
    sequence: str
    mailbox: str
    contacts: tuple[str, ...]

    def body(self, which: int = 0) -> dict[str, Any]:
        return {
            "emailer_campaign_id": self.sequence,
            "contact_ids": [self.contacts[which]],
            "send_email_from_email_account_id": self.mailbox,
        }


def enrolment(bollard: Bollard) -> Enrolment:
    """A sequence, the default mailbox and two new contacts, found and made by a helper
    agent without rules (its calls are not enrolments)."""
    _, key = bollard.agents.create("setup", ["*:*"])
    with bollard.client(key) as api:
        found = api.post("/api/v1/emailer_campaigns/search", params={"q_name": "VP Sales"})
        sequence = found.json()["emailer_campaigns"][0]["id"]
        mailboxes = api.get("/api/v1/email_accounts").json()["email_accounts"]
        mailbox = next(m["id"] for m in mailboxes if m["default"])
        people = [p for p in bollard.sandbox.people.people if p.email_status == "verified"][:2]
        contacts = []
        for p in people:
            made = api.post(
                "/api/v1/contacts",
                json={"first_name": p.first_name, "last_name": p.last_name, "email": p.email},
            )
            contacts.append(made.json()["contact"]["id"])
    path = f"/api/v1/emailer_campaigns/{sequence}/add_contact_ids"
    return Enrolment(path, sequence, mailbox, tuple(contacts))
