"""The team's state behind the actions from Apollo's OpenAPI document.

Mailboxes, sending schedules, fields, emails, calls, notes, conversations and
conversation exports, seeded deterministically beside the CRM in `team.py` (whose
users, stages, lists and sequences these refer to). Its own random stream, so
adding it changes none of the ids the seed's 20 actions already hand out.
"""

from __future__ import annotations

import random
from typing import Any

from bollard.sandbox.clock import iso
from bollard.sandbox.team import Row, Team

SCHEDULES = (("Business hours (weekdays 9-5)", True), ("Every day, morning", False))
SYSTEM_FIELDS = (
    ("contact", "first_name", "First Name"),
    ("contact", "last_name", "Last Name"),
    ("contact", "email", "Email"),
    ("contact", "title", "Title"),
    ("account", "name", "Account Name"),
    ("account", "domain", "Domain"),
    ("opportunity", "amount", "Amount"),
    ("opportunity", "closed_date", "Close Date"),
)
CUSTOM_FIELDS = (("contact", "Lead source", "string"), ("account", "Renewal date", "date"))
CONVERSATIONS = ("Discovery call", "Pricing walkthrough", "Quarterly business review")


class Workspace:
    """State for mailboxes, schedules, fields, emails, calls, notes and conversations."""

    def __init__(self, seed: int, team: Team) -> None:
        self._rng = random.Random(seed * 104_729 + 3)
        self.team = team
        self.email_accounts = self._email_accounts()
        self.schedules = self._schedules()
        self.fields = self._system_fields()
        self.custom_fields: dict[str, Row] = {}
        for modality, name, kind in CUSTOM_FIELDS:
            self.add_custom_field(modality, name, kind, None)
        self.emails: dict[str, Row] = {}
        self.calls: dict[str, Row] = {}
        self.conversations = self._conversations()
        self.notes = self._notes()
        self.exports: dict[str, Row] = {}

    def new_id(self) -> str:
        return f"{self._rng.getrandbits(96):024x}"

    def _email_accounts(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for n, user in enumerate(self.team.users.values()):
            aid = self.new_id()
            rows[aid] = {
                "id": aid,
                "user_id": user["id"],
                "email": user["email"],
                "aliases": [],
                "type": "gmail",
                "active": True,
                "default": n == 0,
                "seconds_delay_between_emails": 60,
                "provider_display_name": "Gmail",
                "nylas_provider": None,
                "last_synced_at": iso(1_764_547_200),
                "email_sending_policy_cd": "limited",
                "max_outbound_emails_per_hour": 50,
            }
        return rows

    def _schedules(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for name, default in SCHEDULES:
            sid = self.new_id()
            rows[sid] = {
                "id": sid,
                "name": name,
                "default": default,
                "time_zone": "America/New_York",
                "schedule_hash": {"monday": [[540, 1020]], "tuesday": [[540, 1020]]},
                "created_at": iso(1_735_689_600),
                "use_contacts_time_zone": True,
                "skip_holidays": True,
            }
        return rows

    def _system_fields(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for modality, name, label in SYSTEM_FIELDS:
            fid = f"{modality}.{name}"
            rows[fid] = {
                "id": fid,
                "category": "system",
                "context": modality,
                "description": None,
                "editable": True,
                "example": None,
                "field_name": name,
                "group": None,
                "icon_class": None,
                "label": label,
                "modality": modality,
                "parent": None,
                "source": "system",
                "type": "string",
            }
        return rows

    def add_custom_field(
        self, modality: str, name: str, kind: str, max_length: float | None
    ) -> Row:
        """A new custom field, listed by both field endpoints."""
        fid = self.new_id()
        row: Row = {
            "id": fid,
            "name": name,
            "modality": modality,
            "type": kind,
            "text_field_max_length": max_length,
            "picklist_options": [],
            "mapped_crm_field": None,
            "additional_mapped_crm_field": None,
            "is_readonly_mapped_crm_field": False,
            "picklist_options_last_synced_at": None,
            "picklist_value_set_id": None,
            "mirrored": False,
            "system_name": None,
        }
        self.custom_fields[fid] = row
        return row

    def _conversations(self) -> dict[str, Row]:
        users = list(self.team.users.values())
        rows: dict[str, Row] = {}
        for n, topic in enumerate(CONVERSATIONS):
            cid = self.new_id()
            host = users[n % len(users)]
            rows[cid] = {
                "id": cid,
                "topic": topic,
                "start_time": iso(1_764_547_200 + 86_400 * n),
                "duration": 1_800 + 300 * n,
                "state": "processed",
                "host": host["name"],
                "host_id": host["id"],
                "is_private": False,
                "pushed_to_crm": False,
                "account_ids": [],
                "contact_ids": [],
                "label_id_names": [],
                "is_shared_conversation": False,
                "opportunity_ids": [],
                "comment_count": n,
                "conversation_type": "video_conference" if n % 2 == 0 else "phone_call",
                "has_ai_insights": n != 1,
                "video_recording": {"type_cd": "zoom", "url": None, "state_cd": "processed"},
            }
        return rows

    def _notes(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for n, conversation in enumerate(self.conversations.values()):
            nid = self.new_id()
            rows[nid] = note_row(
                nid,
                conversation["host_id"],
                f"Notes from {conversation['topic'].lower()}: follow up next week.",
                iso(1_764_547_200 + 86_400 * n + 3_600),
                conversation_id=conversation["id"],
            )
        return rows


def note_row(nid: str, user_id: str, content: str, at: str, **about: Any) -> Row:
    """A note as GET /notes lists it."""
    return {
        "id": nid,
        "user_id": user_id,
        "content": content,
        "created_at": at,
        "updated_at": at,
        "contact_id": about.get("contact_id"),
        "conversation_id": about.get("conversation_id"),
        "account_id": about.get("account_id"),
        "opportunity_id": about.get("opportunity_id"),
        "calendar_event_id": None,
        "pinned_to_top": False,
        "system": False,
        "account_ids": [about["account_id"]] if about.get("account_id") else [],
    }
