"""The team's CRM state: users, stages, labels and the records agents create.

Records are stored as Apollo-shaped dicts (CRM rows are mutable by nature:
updates overwrite sent fields and keep the others), keyed by id in creation
order. Users, stages and a few sequences are seeded so ids exist from the start.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from bollard.sandbox.args import as_bool, as_text
from bollard.sandbox.clock import iso
from bollard.sandbox.exchange import Invocation, Page, Reply, ok, page_of

Row = dict[str, Any]

USERS = (
    ("Ada", "Lovelace", "Head of Revenue Operations"),
    ("Grace", "Hopper", "Sales Development Representative"),
    ("Alan", "Turing", "Account Executive"),
)
CONTACT_STAGES = (
    "Cold",
    "Approaching",
    "Replied",
    "Interested",
    "Not Interested",
    "Unresponsive",
    "Do Not Contact",
    "Bad Data",
    "Changed Job",
)
ACCOUNT_STAGES = (
    "Cold",
    "Active Opportunity",
    "Current Client",
    "Former Client",
    "Do Not Prospect",
)
DEAL_STAGES = ("Discovery", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
SEQUENCES = (
    ("Outbound - VP Sales (Q1)", True, 5),
    ("Inbound demo follow-up", True, 3),
    ("Re-engage closed lost", False, 4),
)


class Team:
    """One Apollo team's CRM, seeded deterministically from `seed`."""

    def __init__(
        self,
        seed: int,
        clock: Callable[[], float],
        organization: Callable[[str], Row | None] = lambda _id: None,
    ) -> None:
        self._rng = random.Random(seed * 7919 + 1)
        self.clock = clock
        # An Apollo organization id -> the organization object records embed.
        self.organization = organization
        self.id = self.new_id()
        self.users: dict[str, Row] = {}
        self.contact_stages = self._stages(CONTACT_STAGES)
        self.account_stages = self._stages(ACCOUNT_STAGES)
        self.deal_stages = self._stages(DEAL_STAGES)
        self.labels: dict[str, Row] = {}
        self.contacts: dict[str, Row] = {}
        self.accounts: dict[str, Row] = {}
        self.sequences: dict[str, Row] = {}
        self.tasks: dict[str, Row] = {}
        self.deals: dict[str, Row] = {}
        self.contact_by_person: dict[str, str] = {}
        self._seed_users()
        self._seed_sequences()

    def new_id(self) -> str:
        """A 24-hex id like Apollo's, deterministic in creation order."""
        return f"{self._rng.getrandbits(96):024x}"

    def now(self) -> str:
        return iso(self.clock())

    @property
    def owner_id(self) -> str:
        """The user API calls act as (the key's owner): the first seeded user."""
        return next(iter(self.users))

    def _stages(self, names: Iterable[str]) -> dict[str, Row]:
        rows: list[Row] = []
        for i, name in enumerate(names):
            rows.append({"id": self.new_id(), "name": name, "display_order": i})
        return {r["id"]: r for r in rows}

    def _seed_users(self) -> None:
        for first, last, title in USERS:
            uid = self.new_id()
            self.users[uid] = {
                "id": uid,
                "team_id": self.id,
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "title": title,
                "email": f"{first}.{last}@bollard-sandbox.example".lower(),
                "created_at": iso(1_700_000_000),
                "deleted": False,
                "credit_limit": 10_000,
                "direct_dial_credit_limit": 500,
                "export_credit_limit": 10_000,
                "ai_credit_limit": 1_000,
                "permission_set_id": None,
                "subteam_ids": [],
                "typed_custom_fields": {},
            }

    def _seed_sequences(self) -> None:
        users = list(self.users)
        for n, (name, active, steps) in enumerate(SEQUENCES):
            sid = self.new_id()
            delivered = 40 * (n + 1)
            self.sequences[sid] = {
                "id": sid,
                "name": name,
                "archived": False,
                "created_at": iso(1_735_689_600),
                "emailer_schedule_id": None,
                "max_emails_per_day": 50,
                "user_id": users[n],
                "active": active,
                "num_steps": steps,
                "label_ids": [],
                "folder_id": None,
                "last_used_at": iso(1_764_547_200),
                "unique_scheduled": 0,
                "unique_delivered": delivered,
                "unique_bounced": n + 1,
                "unique_opened": delivered // 2,
                "unique_replied": delivered // 10,
                "unique_clicked": delivered // 8,
                "unique_unsubscribed": n,
                "bounce_rate": round((n + 1) / delivered, 3),
                "open_rate": 0.5,
                "click_rate": 0.125,
                "reply_rate": 0.1,
                "creation_type": "new",
                "sharing_permission": {"team_can_use": True},
                "cc_emails": "",
                "bcc_emails": "",
            }

    def labels_for(self, names: Iterable[Any], modality: str) -> list[Row]:
        """The lists with these names, creating the ones that do not exist yet."""
        out: list[Row] = []
        for raw in names:
            name = str(raw).strip()
            label = next(
                (
                    lb
                    for lb in self.labels.values()
                    if lb["modality"] == modality and lb["name"].lower() == name.lower()
                ),
                None,
            )
            if label is None:
                lid = self.new_id()
                label = {
                    "id": lid,
                    "modality": modality,
                    "cached_count": 0,
                    "name": name,
                    "created_at": self.now(),
                }
                self.labels[lid] = label
            if label not in out:
                out.append(label)
        return out

    def crumb_name(self, field: str, value: str) -> str:
        """A breadcrumb's display name: the stage, list or sequence an id names."""
        tables = {
            "contact_stage_ids": self.contact_stages,
            "account_stage_ids": self.account_stages,
            "contact_label_ids": self.labels,
            "account_label_ids": self.labels,
            "emailer_campaign_ids": self.sequences,
        }
        row = tables.get(field, {}).get(value)
        return str(row["name"]) if row else value

    def recount_labels(self) -> None:
        """Keep each list's cached_count equal to the records on it."""
        for label in self.labels.values():
            rows = self.contacts if label["modality"] == "contacts" else self.accounts
            label["cached_count"] = sum(label["id"] in r["label_ids"] for r in rows.values())


# Shared by the CRM handlers.


def blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def sanitize_phone(raw: Any) -> str | None:
    """Apollo keeps a `+<digits>` copy of every phone it stores."""
    text = as_text(raw)
    if not text:
        return None
    digits = "".join(c for c in text if c.isdigit())
    return f"+{digits}" if len(digits) > 10 or text.startswith("+") else f"+1{digits}"


def assign(row: Row, args: dict[str, Any], fields: Iterable[str]) -> None:
    """Sent fields overwrite, omitted fields stay, empty values clear."""
    for name in fields:
        if name in args:
            value = args[name]
            row[name] = None if value == "" else value


def ordered(rows: list[Row], field: str | None, ascending: Any) -> list[Row]:
    """Newest first by default; by `field` when asked, with empty values last."""
    newest = list(reversed(rows))
    if not field:
        return newest
    up = as_bool(ascending) if ascending is not None else False
    present = [r for r in newest if r.get(field) is not None]
    missing = [r for r in newest if r.get(field) is None]
    present.sort(key=lambda r: r[field], reverse=not up)
    return present + missing


def listing(
    key: str,
    rows: list[Row],
    page: Page,
    render: Callable[[Row], Row] = dict,
    extra: Row | None = None,
) -> Reply:
    """A CRM search answer: the page of `rows`, rendered, in Apollo's envelope."""
    body: Row = {
        "breadcrumbs": [],
        "partial_results_only": False,
        "has_join": False,
        "disable_eu_prospecting": False,
        "partial_results_limit": 10_000,
        "pagination": page.pagination(len(rows)),
        key: [render(r) for r in page.slice(rows)],
        "num_fetch_result": None,
    }
    return ok({**body, **(extra or {})})


def list_users(team: Team, call: Invocation) -> Reply:
    """GET /users/search: the team's users (pagination page/per_page as strings, as OAS shows)."""
    page = page_of(call.args)
    users = list(team.users.values())
    pagination: Row = {**page.pagination(len(users))}
    pagination["page"], pagination["per_page"] = str(page.page), str(page.per_page)
    return ok(
        {"pagination": pagination, "users": list(page.slice(users)), "num_fetch_result": None}
    )
