"""Outreach beyond search and enrolment: mailboxes, schedules, sequence lifecycle, emails.

Writes change the team's state so a later read shows them: an activated sequence
searches as active, a removed contact's status reads "removed", a sent draft's
send status reads "sent".
"""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_bool, as_int, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, error, misconfigured, ok
from bollard.sandbox.team import Row, Team, assign, blank
from bollard.sandbox.workspace import Workspace

NOT_FOUND = "Record not found."
SEQUENCE_FIELDS = (
    "name",
    "emailer_schedule_id",
    "user_id",
    "folder_id",
    "max_emails_per_day",
    "same_account_reply_delay_days",
    "cc_emails",
    "bcc_emails",
    "creation_type",
    "sharing_permission",
)
MODES = {"mark_as_finished": "finished", "remove": "removed", "stop": "paused"}


def list_email_accounts(ws: Workspace, call: Invocation) -> Reply:
    """GET /email_accounts: the ids add_contact_ids takes as send_email_from_email_account_id."""
    return ok({"email_accounts": list(ws.email_accounts.values())})


def list_schedules(ws: Workspace, call: Invocation) -> Reply:
    """GET /emailer_schedules."""
    return ok({"emailer_schedules": list(ws.schedules.values())})


def _steps(team: Team, raw: Any) -> list[Row]:
    steps = [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
    return [
        {
            "id": team.new_id(),
            "position": n + 1,
            "step_type": as_text(s.get("type")) or "auto_email",
            "wait_time": as_int(s.get("wait_time"), 1),
            "wait_mode": as_text(s.get("wait_mode")) or "day",
            "auto_skip_in_x_days": None,
        }
        for n, s in enumerate(steps)
    ]


def create_sequence(team: Team, call: Invocation) -> Reply:
    """POST /sequences: inactive unless `active` is true, with the steps given."""
    args = call.args
    if blank(args.get("name")):
        return error(422, "Name can't be blank")
    sid = team.new_id()
    steps = _steps(team, args.get("emailer_steps"))
    row: Row = {**next(iter(team.sequences.values()))}
    row.update(
        id=sid,
        name=str(args["name"]),
        active=False,
        archived=False,
        created_at=team.now(),
        user_id=as_text(args.get("user_id")) or team.owner_id,
        num_steps=len(steps),
        unique_scheduled=0,
        unique_delivered=0,
        unique_bounced=0,
        unique_opened=0,
        unique_replied=0,
        unique_clicked=0,
        unique_unsubscribed=0,
        bounce_rate=0,
        open_rate=0,
        click_rate=0,
        reply_rate=0,
        label_ids=[],
    )
    assign(row, args, SEQUENCE_FIELDS)
    row["steps"] = steps
    team.sequences[sid] = row
    if as_bool(args.get("active")) and steps:
        row["active"] = True
    body = {"emailer_campaign": _public(row), "emailer_steps": steps, "emailer_touches": []}
    return ok({**body, "sharing_accesses": [], "emailer_templates": [], "attachments": []})


def _public(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "steps"}


def update_sequence(team: Team, call: Invocation) -> Reply:
    """PUT /sequences/{id}: sent fields overwrite; turning it on needs a step."""
    row = team.sequences.get(call.path["id"])
    if row is None:
        return error(404, NOT_FOUND)
    args = call.args
    if "emailer_steps" in args:
        row["steps"] = _steps(team, args["emailer_steps"])
        row["num_steps"] = len(row["steps"])
    if as_bool(args.get("active")) and not row["num_steps"]:
        return error(
            422, "Please make sure your template has a non-empty body before turning it on."
        )
    assign(row, args, SEQUENCE_FIELDS)
    if "active" in args:
        row["active"] = as_bool(args["active"])
    steps = row.get("steps", [])
    head = {k: row[k] for k in ("id", "name", "active", "archived", "created_at", "num_steps")}
    return ok(
        {
            **head,
            "updated_at": team.now(),
            "steps": steps,
            "emailer_campaign": _public(row),
            "emailer_steps": steps,
            "emailer_touches": [],
        }
    )


def _switch(team: Team, call: Invocation, active: bool) -> Reply:
    row = team.sequences.get(call.path["sequence_id"])
    if row is None:
        return misconfigured(call.path["sequence_id"])
    if row["active"] == active:
        return error(422, f"The sequence is already {'active' if active else 'inactive'}.")
    if active and row["archived"]:
        return error(422, "An archived sequence cannot be activated.")
    row["active"] = active
    campaign = {"id": row["id"], "unique_scheduled": row["unique_scheduled"], "active": active}
    return ok({"emailer_campaign": campaign, "emailer_steps": row.get("steps", [])})


def activate(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/{sequence_id}/approve: starts sending on its schedule."""
    return _switch(team, call, True)


def deactivate(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/{sequence_id}/abort: stops sending."""
    return _switch(team, call, False)


def archive(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/{sequence_id}/archive: inactive and archived."""
    row = team.sequences.get(call.path["sequence_id"])
    if row is None:
        return misconfigured(call.path["sequence_id"])
    row["active"], row["archived"] = False, True
    return ok(
        {"emailer_campaign": {"id": row["id"], "active": False, "archived": True, "deleted": False}}
    )


def remove_contacts(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/remove_or_stop_contact_ids: finish, remove or stop contacts."""
    args = call.args
    status = MODES.get(as_text(args.get("mode")) or "")
    if status is None:
        return error(422, "mode must be one of mark_as_finished, remove or stop")
    sequence_ids = set(as_strs(args.get("emailer_campaign_ids")))
    unknown = [s for s in sequence_ids if s not in team.sequences]
    if unknown:
        return misconfigured(unknown[0])
    touched: list[Row] = []
    statuses: list[Row] = []
    for contact_id in as_strs(args.get("contact_ids")):
        row = team.contacts.get(contact_id)
        if row is None:
            continue
        for entry in row["contact_campaign_statuses"]:
            if entry["emailer_campaign_id"] in sequence_ids:
                entry["status"] = status
                entry["finished_at"] = team.now() if status != "paused" else None
                entry["paused_at"] = team.now() if status == "paused" else None
                statuses.append(entry)
        if status == "removed":
            row["emailer_campaign_ids"] = [
                s for s in row["emailer_campaign_ids"] if s not in sequence_ids
            ]
        touched.append(row)
    campaigns = [_public(team.sequences[s]) for s in sequence_ids]
    return ok(
        {
            "contacts": touched,
            "emailer_campaigns": campaigns,
            "num_contacts": len(touched),
            "contact_statuses": statuses,
            "emailer_steps": [],
        }
    )


def activity(team: Team, call: Invocation) -> Reply:
    """POST /emailer_campaigns/activity_feed: one contact's sequence timeline."""
    contact = team.contacts.get(as_text(call.args.get("contact_id")) or "")
    if contact is None:
        return error(404, "Contact not found")
    only = as_text(call.args.get("sequence_id"))
    events: list[Row] = []
    for entry in contact["contact_campaign_statuses"]:
        sequence = team.sequences.get(entry["emailer_campaign_id"], {})
        if only and entry["emailer_campaign_id"] != only:
            continue
        events.append(
            {
                "type": "added_to_sequence" if entry["status"] == "active" else entry["status"],
                "occurred_at": entry["finished_at"] or entry["paused_at"] or entry["added_at"],
                "sequence_id": entry["emailer_campaign_id"],
                "sequence_name": sequence.get("name"),
            }
        )
    limit = min(max(as_int(call.args.get("per_page"), 50), 1), 50)
    return ok({"contact_id": contact["id"], "events": events[:limit]})


def create_draft(ws: Workspace, call: Invocation) -> Reply:
    """POST /emailer_messages: a `drafted` email to a contact; nothing is sent."""
    team, args = ws.team, call.args
    contact = team.contacts.get(as_text(args.get("contact_id")) or "")
    if contact is None:
        return error(422, "Contact does not exist")
    account = next(iter(ws.email_accounts.values()))
    mid = ws.new_id()
    row: Row = {
        "id": mid,
        "user_id": team.owner_id,
        "status": "drafted",
        "to_name": contact["name"],
        "to_email": contact["email"],
        "due_at": None,
        "completed_at": None,
        "emailer_campaign_id": None,
        "attachment_ids": as_strs(args.get("attachment_ids")),
        "enable_tracking": as_bool(args.get("enable_tracking")),
        "type": "manual",
        "contact_id": contact["id"],
        "email_account_id": account["id"],
        "subject": as_text(args.get("subject")) or "",
        "body_html": as_text(args.get("body_html")) or "",
        "created_at": team.now(),
    }
    ws.emails[mid] = row
    return ok({"emailer_message": row})


def send_now(ws: Workspace, call: Invocation) -> Reply:
    """POST /emailer_messages/{id}/send_now: a drafted, scheduled or failed email goes out."""
    row = ws.emails.get(call.path["id"])
    if row is None:
        return error(422, "This email has already been deleted. Please refresh the page.")
    if row["status"] == "sent":
        return error(422, "This email has already been sent.")
    row["status"], row["completed_at"] = "sent", ws.team.now()
    return ok({"emailer_message": row})


def get_content(ws: Workspace, call: Invocation) -> Reply:
    """POST /emailer_messages/get_content: subject, body and recipients, up to 10 ids."""
    ids = as_strs(call.args.get("ids"))
    if not ids:
        return error(422, "Missing required parameter: ids")
    html = as_text(call.args.get("body_format")) == "html"
    out = [
        {
            "id": r["id"],
            "subject": r["subject"],
            "body": r["body_html"] if html else _plain(r["body_html"]),
            "body_format": "html" if html else "plain",
            "status": r["status"],
            "sent_at": r["completed_at"],
            "recipients": [{"email": r["to_email"], "name": r["to_name"], "type": "to"}],
        }
        for r in (ws.emails.get(i) for i in ids[:10])
        if r is not None
    ]
    return ok({"emailer_messages": out})


def _plain(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)


def send_status(ws: Workspace, call: Invocation) -> Reply:
    """POST /emailer_messages/email_send_status."""
    mid = as_text(call.args.get("id"))
    if not mid:
        return error(422, "Missing required parameter: id")
    row = ws.emails.get(mid)
    if row is None:
        return error(404, "Email message not found")
    message = "Email was sent." if row["status"] == "sent" else f"Email is {row['status']}."
    return ok(
        {
            "id": mid,
            "status": row["status"],
            "message": message,
            "completed_at": row["completed_at"],
        }
    )


def stats(ws: Workspace, call: Invocation) -> Reply:
    """GET /emailer_messages/{id}/activities."""
    row = ws.emails.get(call.path["id"])
    if row is None:
        return error(422, "Could not find message.")
    sent = {"id": f"{row['id']}-sent", "type": "sent", "emailer_message_id": row["id"]}
    done = [{**sent, "emailer_message": None}] if row["status"] == "sent" else []
    return ok({"activities": done, "emailer_message": row})


def search_emails(ws: Workspace, call: Invocation) -> Reply:
    """GET /emailer_messages/search: the team's emails, newest first."""
    args = call.args
    words = (as_text(args.get("q_keywords")) or "").lower().split()
    rows = [
        r
        for r in reversed(ws.emails.values())
        if all(w in f"{r['subject']} {r['to_name']} {r['to_email']}".lower() for w in words)
    ]
    page, per_page = max(as_int(args.get("page"), 1), 1), max(as_int(args.get("per_page"), 10), 1)
    if page * per_page > 50_000:
        return error(422, "Invalid parameter passed in. Page * per page number is over threshold.")
    shown = rows[(page - 1) * per_page : page * per_page]
    return ok(
        {
            "breadcrumbs": [],
            "emailer_messages": shown,
            "emailer_steps": [],
            "num_fetch_result": None,
        }
    )
