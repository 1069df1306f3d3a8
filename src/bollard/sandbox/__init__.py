"""The sandbox: Bollard's built-in simulator of the Apollo API.

`create_sandbox(SandboxConfig(...))` builds a `Sandbox` whose `.app` is an ASGI
app answering every catalog endpoint (the seed's 20 and the other 60 of Apollo's
OpenAPI document) under `/api/v1` as Apollo does: its keys
and 401/403 bodies, its filters over a generated prospect database, the team's
CRM state, its paging caps, credits, fixed-window rate limits with headers, and
phone reveals delivered by webhook. Everything is deterministic from `seed`
and the injected clock.

    Sandbox
    ├── app          Starlette routes built from the catalog (app.py)
    ├── people/orgs  generated database + search/enrich (people.py, organizations.py,
    │                enrichment.py)
    ├── team         CRM state (team.py, contacts.py, accounts.py, sequences.py,
    │                tasks.py, deals.py)
    ├── workspace    mailboxes, schedules, fields, emails, calls, notes, conversations
    │                (workspace.py; handlers in document.py, outreach.py, bulk.py,
    │                lookups.py, lists.py, activity.py)
    ├── windows      rate limits (windows.py, usage.py)
    ├── credits      the ledger (credits.py)
    └── webhooks     delayed phone-reveal POSTs (webhooks.py)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from starlette.types import ASGIApp

from bollard.catalog import Action, load_catalog
from bollard.sandbox import organizations, people
from bollard.sandbox.app import build_app
from bollard.sandbox.clock import ManualClock
from bollard.sandbox.credits import Charge, CreditLedger
from bollard.sandbox.enrichment import Enricher
from bollard.sandbox.exchange import SandboxCall
from bollard.sandbox.team import Team
from bollard.sandbox.titles import TitleIndex
from bollard.sandbox.webhooks import Delivery, Webhooks
from bollard.sandbox.windows import RateWindows, default_limits
from bollard.sandbox.workspace import Workspace

__all__ = [
    "Charge",
    "CreditLedger",
    "Delivery",
    "ManualClock",
    "Sandbox",
    "SandboxCall",
    "SandboxConfig",
    "create_sandbox",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How a sandbox behaves; every field has the documented default."""

    master_keys: tuple[str, ...] = ()
    scoped_keys: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)
    # "seed": catalog master_key actions need a master key; "scoped": scoped keys reach the
    # seed's 20 (the document's four master-only operations still need the master key).
    master_mode: Literal["seed", "scoped"] = "seed"
    rate_limits: bool = True
    daily_header_spelling: Literal["24-hour", "daily"] = "24-hour"
    seed: int = 7
    people: int = 10_000
    organizations: int = 2_000
    webhook_delay: float = 0.0
    webhook_hosts: tuple[str, ...] = ()  # allowed besides loopback
    limits: Mapping[str, tuple[int, int, int]] = field(default_factory=lambda: _EMPTY)
    clock: Callable[[], float] = time.time
    # Tests read `Sandbox.calls`; a long-running sandbox keeps nothing per call.
    record_calls: bool = True


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a configured key may reach."""

    master: bool
    actions: frozenset[str]


class Sandbox:
    """A running simulation of one Apollo team; see the module docstring."""

    def __init__(self, config: SandboxConfig) -> None:
        catalog = load_catalog()
        self.config = config
        self.actions: tuple[Action, ...] = catalog.actions
        self.keys = _grants(config, {a.id for a in self.actions})
        self.calls: list[SandboxCall] = []
        self.credits = CreditLedger()
        rng = random.Random(config.seed)
        org_rows = organizations.generate(rng, config.organizations)
        self.organizations = organizations.OrganizationIndex(org_rows)
        title_index = TitleIndex()
        self.people = people.PeopleIndex(
            people.generate(rng, config.people, org_rows, title_index),
            self.organizations,
            title_index,
        )
        self.team = Team(config.seed, config.clock, self._organization)
        self.workspace = Workspace(config.seed, self.team)
        self.webhooks = Webhooks(config.webhook_delay, config.webhook_hosts)
        self.enricher = Enricher(self.people, self.webhooks, self._contact_for, rng)
        self.windows = RateWindows(
            [a.id for a in self.actions],
            default_limits(config.limits),
            config.clock,
            enforce=config.rate_limits,
        )
        self.app: ASGIApp = build_app(self)

    @property
    def credits_spent(self) -> int:
        """Total credits charged so far (see `.credits` for the breakdown)."""
        return self.credits.total

    @property
    def accepted_keys(self) -> dict[str, str]:
        """Each configured key and what it reaches, for printing."""
        return {
            k: "master" if g.master else ",".join(sorted(g.actions)) for k, g in self.keys.items()
        }

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock; only when it was given a `ManualClock`."""
        if not isinstance(self.config.clock, ManualClock):
            raise TypeError("advance() needs SandboxConfig(clock=ManualClock())")
        self.config.clock.advance(seconds)

    async def join_webhooks(self) -> None:
        """Wait until every scheduled webhook was sent or refused."""
        await self.webhooks.join()

    def person_for_email(self, email: str) -> tuple[str, str, str] | None:
        """(person id, email status, employer's id) of the generated person with this email."""
        person = self.people.by_email.get(email.lower())
        if person is None:
            return None
        return person.id, person.email_status, self.people.org_of(person).id

    def organization_id_for_domain(self, domain: str) -> str | None:
        """Id of the generated organization at this domain."""
        org = self.organizations.by_domain.get(domain)
        return org.id if org else None

    def _organization(self, org_id: str) -> dict[str, Any] | None:
        index = self.organizations.by_id.get(org_id)
        return organizations.summary(self.organizations.orgs[index]) if index is not None else None

    def _contact_for(self, person_id: str) -> dict[str, Any] | None:
        contact_id = self.team.contact_by_person.get(person_id)
        return self.team.contacts.get(contact_id) if contact_id else None


def _grants(config: SandboxConfig, known: set[str]) -> dict[str, KeyGrant]:
    unknown = {a for ids in config.scoped_keys.values() for a in ids} - known
    unknown |= set(config.limits) - known
    if unknown:
        raise ValueError(f"unknown action ids in the sandbox config: {sorted(unknown)}")
    both = set(config.master_keys) & set(config.scoped_keys)
    if both:
        raise ValueError(f"keys configured as both master and scoped: {sorted(both)}")
    grants = {k: KeyGrant(False, frozenset(ids)) for k, ids in config.scoped_keys.items()}
    grants.update({k: KeyGrant(True, frozenset(known)) for k in config.master_keys})
    return grants


def create_sandbox(config: SandboxConfig | None = None) -> Sandbox:
    """A fresh sandbox (generated data, empty CRM besides seeds, zeroed counters)."""
    return Sandbox(config or SandboxConfig())
