"""Sequences (emailer_campaigns): search, and adding contacts with skip reasons."""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_bool, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, error, misconfigured, ok, page_of
from bollard.sandbox.team import Row, Team, blank, listing

NEED_CONTACTS = "Please specify either contact_ids or label_names."
NEED_SENDER = "Please specify a emailer_campaign_id and send_email_from_email_account_id."


def search(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/search: partial match on the name."""
    q = as_text(call.args.get("q_name"))
    rows = [s for s in team.sequences.values() if not q or q.lower() in s["name"].lower()]
    crumbs = [{"label": "Name", "signal_field_name": "q_name", "value": q, "display_name": q}]
    reply = listing("emailer_campaigns", rows, page_of(call.args))
    reply.body["breadcrumbs"] = crumbs if q else []
    return reply


def _contact_ids(team: Team, args: dict[str, Any]) -> list[str]:
    ids = as_strs(args.get("contact_ids"))
    names = {n.lower() for n in as_strs(args.get("label_names"))}
    if names:
        label_ids = {
            lb["id"]
            for lb in team.labels.values()
            if lb["modality"] == "contacts" and lb["name"].lower() in names
        }
        ids += [c["id"] for c in team.contacts.values() if label_ids.intersection(c["label_ids"])]
    return list(dict.fromkeys(ids))


def _statuses(row: Row, sequence_id: str, inside: bool) -> list[Row]:
    return [
        s
        for s in row["contact_campaign_statuses"]
        if (s["emailer_campaign_id"] == sequence_id) == inside
    ]


def _skip_reason(team: Team, sequence_id: str, contact_id: str, args: dict[str, Any]) -> str | None:
    """Why Apollo would not add this contact, or None; override flags lift a reason."""
    row = team.contacts.get(contact_id)
    if row is None:
        return "contact_not_found"
    if _statuses(row, sequence_id, inside=True):
        return "contacts_already_exists_in_current_campaign"
    elsewhere = {s["status"] for s in _statuses(row, sequence_id, inside=False)}
    checks = (
        ("sequence_no_email", not row["email"], "contacts_without_email"),
        (
            "sequence_unverified_email",
            row["email"] and row["email_status"] != "verified",
            "contacts_unverified_email",
        ),
        (
            "sequence_active_in_other_campaigns",
            bool(elsewhere & {"active", "paused"}),
            "contacts_active_in_other_campaigns",
        ),
        (
            "sequence_finished_in_other_campaigns",
            "finished" in elsewhere,
            "contacts_finished_in_other_campaigns",
        ),
        (
            "sequence_same_company_in_same_campaign",
            _colleague_inside(team, row, sequence_id),
            "contacts_in_same_company",
        ),
    )
    for flag, applies, reason in checks:
        if applies and not as_bool(args.get(flag)):
            return reason
    return None


def _colleague_inside(team: Team, row: Row, sequence_id: str) -> bool:
    if not row["account_id"]:
        return False
    return any(
        c["account_id"] == row["account_id"]
        and c["id"] != row["id"]
        and _statuses(c, sequence_id, inside=True)
        for c in team.contacts.values()
    )


def _enrol(team: Team, row: Row, sequence_id: str, args: dict[str, Any]) -> None:
    paused = as_text(args.get("status")) == "paused"
    account = args.get("send_email_from_email_account_id")
    row["contact_campaign_statuses"].append(
        {
            "id": team.new_id(),
            "emailer_campaign_id": sequence_id,
            "send_email_from_user_id": as_text(args.get("user_id")) or team.owner_id,
            "inactive_reason": None,
            "status": "paused" if paused else "active",
            "added_at": team.now(),
            "added_by_user_id": as_text(args.get("user_id")) or team.owner_id,
            "finished_at": None,
            "paused_at": team.now() if paused else None,
            "auto_unpause_at": args.get("auto_unpause_at") if paused else None,
            "send_email_from_email_address": as_text(args.get("send_email_from_email_address")),
            "send_email_from_email_account_id": account[0]
            if isinstance(account, list)
            else account,
            "failure_reason": None,
            "current_step_id": None,
            "current_step_position": 1,
        }
    )
    row["emailer_campaign_ids"].append(sequence_id)
    row["updated_at"] = team.now()


def add_contacts(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/{sequence_id}/add_contact_ids."""
    sequence_id = call.path["sequence_id"]
    sequence = team.sequences.get(sequence_id)
    if sequence is None:
        return misconfigured(sequence_id)
    args = call.args
    if blank(args.get("contact_ids")) and blank(args.get("label_names")):
        return error(422, NEED_CONTACTS)
    if blank(args.get("emailer_campaign_id")) or blank(
        args.get("send_email_from_email_account_id")
    ):
        return error(422, NEED_SENDER)
    added: list[Row] = []
    skipped: dict[str, str] = {}
    for contact_id in _contact_ids(team, args):
        reason = _skip_reason(team, sequence_id, contact_id, args)
        if reason:
            skipped[contact_id] = reason
            continue
        _enrol(team, team.contacts[contact_id], sequence_id, args)
        added.append(team.contacts[contact_id])
    sequence["unique_scheduled"] += len(added)
    return ok(
        {
            "contacts": added,
            "skipped_contact_ids": skipped,
            "emailer_campaign": sequence,
            "emailer_steps": [],
            "emailer_touches": [],
            "team": {"id": team.id},
            "signals_hash": {},
        }
    )
