"""Tasks: create and search."""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_int, as_strs, as_text
from bollard.sandbox.exchange import (
    PER_PAGE_MAX,
    Invocation,
    Reply,
    error,
    misconfigured,
    ok,
    page_of,
)
from bollard.sandbox.team import Row, Team, blank, listing

TYPES = (
    "call",
    "outreach_manual_email",
    "linkedin_step_connect",
    "linkedin_step_message",
    "linkedin_step_view_profile",
    "linkedin_step_interact_post",
    "action_item",
)
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def _missing(args: dict[str, Any]) -> Reply | None:
    if blank(args.get("type")) or blank(args.get("user_id")):
        return error(422, "type and user can not be blank")
    missing = [f for f in ("contact_id", "status", "due_at") if blank(args.get(f))]
    if missing:
        return error(422, f"{' and '.join(missing)} can not be blank")
    return None


def create(team: Team, call: Invocation) -> Reply:
    """POST /tasks: user_id, contact_id, type, status and due_at are required."""
    args = call.args
    if refusal := _missing(args):
        return refusal
    for name, table in (("user_id", team.users), ("contact_id", team.contacts)):
        if str(args[name]) not in table:
            return misconfigured(args[name])
    contact = team.contacts[str(args["contact_id"])]
    status = str(args["status"])
    kind = str(args["type"])
    title = (
        as_text(args.get("title"))
        or f"{kind.replace('_', ' ').capitalize()} {contact['name'] or ''}"
    )
    row: Row = {
        "id": team.new_id(),
        "user_id": str(args["user_id"]),
        "created_at": team.now(),
        "completed_at": team.now() if status == "completed" else None,
        "skipped_at": team.now() if status == "skipped" else None,
        "note": as_text(args.get("note")),
        "due_at": str(args["due_at"]),
        "type": kind,
        "priority": as_text(args.get("priority")) or "medium",
        "status": status,
        "answered": False,
        "contact_id": contact["id"],
        "person_id": contact["person_id"],
        "account_id": contact["account_id"],
        "organization_id": contact["organization_id"],
        "persona_ids": [],
        "subject": None,
        "created_from": "api",
        "emailer_campaign_id": None,
        "opportunity_id": None,
        "title": title.strip(),
        "creator_id": team.owner_id,
    }
    team.tasks[row["id"]] = row
    return ok({"task": render(team, row)})


def render(team: Team, row: Row) -> Row:
    return {
        **row,
        "contact": team.contacts.get(row["contact_id"]),
        "account": team.accounts.get(row["account_id"] or ""),
    }


def _sorted(rows: list[Row], field: str | None) -> list[Row]:
    if field == "task_priority":
        return sorted(rows, key=lambda r: PRIORITY_RANK.get(r["priority"], 3))
    if field == "task_due_at":
        return sorted(rows, key=lambda r: r["due_at"])
    return list(reversed(rows))


def search(team: Team, call: Invocation) -> Reply:
    """POST /tasks/search: sorted by due date or priority; per_page over 100 is refused."""
    args = call.args
    if as_int(args.get("per_page"), 0) > PER_PAGE_MAX:
        return error(422, "Per page not supported")
    rows = _sorted(list(team.tasks.values()), as_text(args.get("sort_by_field")))
    faceting: Row = {}
    if "task_types" in as_strs(args.get("open_factor_names")):
        faceting["task_types"] = [
            {
                "value": t,
                "display_name": t.replace("_", " ").capitalize(),
                "count": sum(r["type"] == t for r in rows),
            }
            for t in TYPES
        ]
    extra = {"faceting": faceting, "pipeline_total": None}
    return listing("tasks", rows, page_of(args), lambda r: render(team, r), extra)
