"""Calls, notes, conversations and analytics reports."""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_bool, as_int, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, error, ok, page_of
from bollard.sandbox.team import Row
from bollard.sandbox.workspace import Workspace, note_row

CALL_FIELDS = (
    "contact_id",
    "account_id",
    "to_number",
    "from_number",
    "status",
    "start_time",
    "end_time",
    "phone_call_purpose_id",
    "phone_call_outcome_id",
    "note",
)
NOTE_FILTERS = (
    "contact_id",
    "account_id",
    "opportunity_id",
    "calendar_event_id",
    "conversation_id",
)


def _write_call(ws: Workspace, row: Row, args: dict[str, Any]) -> None:
    for name in CALL_FIELDS:
        if name in args:
            row[name] = args[name]
    if "duration" in args:
        row["duration"] = as_int(args["duration"], 0)
    if "logged" in args:
        row["logged"] = as_bool(args["logged"])
    users = as_strs(args.get("user_id"))
    if users:
        row["user_id"] = users[0]
    row["updated_at"] = ws.team.now()


def create_call(ws: Workspace, call: Invocation) -> Reply:
    """POST /phone_calls: log a call made outside Apollo."""
    cid = ws.new_id()
    row: Row = {
        "id": cid, "user_id": ws.team.owner_id, "account_id": None, "contact_id": None,
        "voice_setting_id": None, "phone_call_outcome_id": None, "phone_call_purpose_id": None,
        "recording_url": None, "twilio_call_sid": None, "call_identifier": cid,
        "agent_call_sid": None, "inbound": False, "logged": True, "status": "completed",
        "duration": 0, "note": None, "created_at": ws.team.now(),
    }  # fmt: skip
    _write_call(ws, row, call.args)
    ws.calls[cid] = row
    return ok(
        {
            "phone_call": row,
            "contact": ws.team.contacts.get(row["contact_id"] or ""),
            "team": {"id": ws.team.id},
        }
    )


def update_call(ws: Workspace, call: Invocation) -> Reply:
    """PUT /phone_calls/{id}."""
    row = ws.calls.get(call.path["id"])
    if row is None:
        return error(422, f"Parameters misconfigured. {call.path['id']} is not a valid ID")
    _write_call(ws, row, call.args)
    return ok({"phone_call": row, "contact": ws.team.contacts.get(row["contact_id"] or "")})


def search_calls(ws: Workspace, call: Invocation) -> Reply:
    """GET /phone_calls/search: by user, keywords and duration."""
    args = call.args
    users = set(as_strs(args.get("user_ids")))
    words = (as_text(args.get("q_keywords")) or "").lower().split()
    raw_span = args.get("duration")
    span: dict[str, Any] = raw_span if isinstance(raw_span, dict) else {}
    low, high = as_int(span.get("min"), 0), as_int(span.get("max"), 10**9)
    rows = [
        r
        for r in reversed(ws.calls.values())
        if (not users or r["user_id"] in users)
        and low <= r["duration"] <= high
        and all(w in (r["note"] or "").lower() for w in words)
    ]
    page = page_of(args)
    return ok(
        {
            "pagination": page.pagination(len(rows)),
            "breadcrumbs": [],
            "phone_calls": list(page.slice(rows)),
            "faceting": {},
            "pipeline_total": None,
            "num_fetch_result": None,
        }
    )


def list_notes(ws: Workspace, call: Invocation) -> Reply:
    """GET /notes: at least one record to list notes for."""
    args = call.args
    wanted = {k: as_text(args[k]) for k in NOTE_FILTERS if as_text(args.get(k))}
    many = {
        "contact_id": as_strs(args.get("contact_ids")),
        "conversation_id": as_strs(args.get("conversation_ids")),
    }
    if not wanted and not any(many.values()):
        return error(400, "At least one argument is required")
    rows = [
        n
        for n in ws.notes.values()
        if all(n[k] == v for k, v in wanted.items())
        and all(not ids or n[k] in ids for k, ids in many.items())
    ]
    rows.sort(key=lambda n: n[as_text(args.get("sort_by_field")) or "created_at"])
    if as_text(args.get("sort_direction")) != "asc":
        rows.reverse()
    skip, limit = (
        max(as_int(args.get("skip"), 0), 0),
        min(max(as_int(args.get("limit"), 25), 1), 100),
    )
    return ok({"notes": rows[skip : skip + limit]})


def add_note(ws: Workspace, user_id: str, content: str, **about: Any) -> Row:
    """A note written by some other action (Bollard's own tests use it too)."""
    nid = ws.new_id()
    ws.notes[nid] = note_row(nid, user_id, content, ws.team.now(), **about)
    return ws.notes[nid]


def search_conversations(ws: Workspace, call: Invocation) -> Reply:
    """POST /conversations/search."""
    args = call.args
    kind = as_text(args.get("conversation_type"))
    rows = [c for c in ws.conversations.values() if kind is None or c["conversation_type"] == kind]
    page = page_of({"page": args.get("page"), "per_page": args.get("num_fetch_result")})
    return ok(
        {
            "pagination": page.pagination(len(rows)),
            "breadcrumbs": [],
            "num_fetch_result": args.get("num_fetch_result"),
            "playlist_clip_ids": [],
            "conversations": list(page.slice(rows)),
        }
    )


def get_conversation(ws: Workspace, call: Invocation) -> Reply:
    """GET /conversations/{id}: 1 credit when the conversation has AI insights."""
    row = ws.conversations.get(call.path["id"])
    if row is None:
        return error(404, "Conversation not found or access denied.")
    if row["has_ai_insights"]:
        call.charge(1, "conversation")
    return ok(row)


def export_conversations(ws: Workspace, call: Invocation) -> Reply:
    """POST /conversations/export: an export of the conversations in a time range."""
    args = call.args
    start, end = as_text(args.get("start_time")), as_text(args.get("end_time"))
    for name, value in (("start_time", start), ("end_time", end)):
        if not value or len(value) < 10 or value[4] != "-":
            return error(422, f"{name} is not a valid ISO-8601 date.")
    assert start is not None
    assert end is not None
    rows = [c for c in ws.conversations.values() if start <= c["start_time"] <= end]
    if not rows:
        return error(404, "Unable to find conversations within the given time range.")
    call.charge(sum(c["has_ai_insights"] for c in rows), "conversation")
    eid = ws.new_id()
    ws.exports[eid] = {
        "id": eid,
        "conversation_ids": [c["id"] for c in rows],
        "email": args.get("email"),
    }
    return ok({"id": eid, "status": "processing", "num_conversations": len(rows)})


def get_export(ws: Workspace, call: Invocation) -> Reply:
    """GET /conversations/export/{id}: where to download it."""
    row = ws.exports.get(call.path["id"])
    if row is None:
        return error(404, "Export not found or access denied.")
    return ok({"redirect_url": f"https://exports.example.invalid/conversations/{row['id']}.zip"})


def sync_report(ws: Workspace, call: Invocation) -> Reply:
    """POST /reports/sync_report: totals per sequence (the sandbox's one dimension)."""
    args = call.args
    for name in ("metrics", "group_by", "sorts", "filters", "date_ranges"):
        if args.get(name) in (None, "", [], {}):
            return error(400, f"param is missing or the value is empty: {name}")
    metrics = [m.get("value") for m in args["metrics"] if isinstance(m, dict)]
    rows = [
        {"group_by_value": s["id"], "group_by_display": s["name"],
         "metrics": {str(m): s.get(str(m), 0) for m in metrics}}
        for s in ws.team.sequences.values()
    ]  # fmt: skip
    table = {"rows": rows, "metrics": metrics}
    return ok(
        {
            "response": {
                "table_response": table,
                "group_by_total_response": None,
                "pivot_group_by_total_response": None,
            },
            "incompatible_filters": [],
            "goals": [],
        }
    )
