"""Bulk and many-record CRM writes: bulk create/update, owners, stages, task changes.

Each record goes through the single-record handler of the seed's actions
(`contacts.create`, `accounts.update`, `tasks.create`...), so a bulk write and
twenty single writes leave the same state behind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bollard.sandbox import accounts, contacts, tasks
from bollard.sandbox.accounts import OrgLookup
from bollard.sandbox.args import as_bool, as_strs, as_text
from bollard.sandbox.contacts import PersonLookup
from bollard.sandbox.exchange import Invocation, Reply, error, misconfigured, ok
from bollard.sandbox.team import Row, Team, blank

BULK_MAX = 100


def _items(call: Invocation, key: str) -> list[dict[str, Any]] | None:
    raw = call.args.get(key)
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        return None
    return raw


def _each(call: Invocation, args: dict[str, Any], path: dict[str, str] | None = None) -> Invocation:
    return replace(call, args=args, path=path or {})


def bulk_create_contacts(team: Team, find_person: PersonLookup, call: Invocation) -> Reply:
    """POST /contacts/bulk_create: new contacts; dedupe matches come back untouched."""
    items = _items(call, "contacts")
    if items is None or len(items) > BULK_MAX:
        return error(
            422,
            'Please provide an array of contact attributes in the "contact_attributes" parameter.',
        )
    created: list[Row] = []
    existing: list[Row] = []
    shared = {"label_names": as_strs(call.args.get("append_label_names"))}
    if not blank(call.args.get("owner_id")):
        shared["owner_id"] = call.args["owner_id"]
    for item in items:
        before = set(team.contacts)
        hit = contacts._duplicate(team, item)[0] if as_bool(call.args.get("run_dedupe")) else None
        if hit is not None:
            existing.append(hit)
            continue
        reply = contacts.create(team, find_person, _each(call, {**item, **shared}))
        if reply.status != 200:
            return reply
        (created if set(team.contacts) - before else existing).append(reply.body["contact"])
    return ok({"created_contacts": created, "existing_contacts": existing})


def bulk_create_accounts(team: Team, find_org: OrgLookup, call: Invocation) -> Reply:
    """POST /accounts/bulk_create: new accounts; with run_dedupe, domain matches are kept."""
    items = _items(call, "accounts")
    if items is None or len(items) > BULK_MAX:
        return error(
            422, 'Please provide an array of account attributes in the "accounts" parameter.'
        )
    created: list[Row] = []
    existing: list[Row] = []
    labels = as_strs(call.args.get("append_label_names"))
    for item in items:
        domain = as_text(item.get("domain"))
        hit = next((a for a in team.accounts.values() if domain and a["domain"] == domain), None)
        if hit is not None and as_bool(call.args.get("run_dedupe")):
            existing.append(hit)
            continue
        reply = accounts.create(team, find_org, _each(call, {**item, "label_names": labels}))
        if reply.status != 200:
            return reply
        created.append(reply.body["account"])
    return ok({"created_accounts": created, "existing_accounts": existing})


def _updates(
    call: Invocation, ids_key: str, attrs_key: str, fields: tuple[str, ...]
) -> list[tuple[str, dict[str, Any]]] | None:
    """(id, changes) pairs from either per-record attributes or ids plus shared fields."""
    attributes = _items(call, attrs_key)
    if attributes is not None:
        return [(str(a.get("id")), {k: v for k, v in a.items() if k != "id"}) for a in attributes]
    ids = as_strs(call.args.get(ids_key))
    if not ids:
        return None
    shared = {k: call.args[k] for k in fields if k in call.args}
    return [(i, shared) for i in ids]


def bulk_update_contacts(team: Team, find_person: PersonLookup, call: Invocation) -> Reply:
    """POST /contacts/bulk_update: the same fields for many ids, or per-contact attributes."""
    if as_bool(call.args.get("async")):
        return error(422, "Async processing is not permitted.")
    changes = _updates(call, "contact_ids", "contact_attributes", contacts.FIELDS)
    if changes is None:
        return error(422, "Please provide either contact_ids or contact_attributes")
    out: list[Row] = []
    for contact_id, args in changes[:BULK_MAX]:
        reply = contacts.update(team, find_person, _each(call, args, {"contact_id": contact_id}))
        if reply.status != 200:
            return reply
        out.append(reply.body["contact"])
    return ok({"contacts": out})


def bulk_update_accounts(team: Team, find_org: OrgLookup, call: Invocation) -> Reply:
    """POST /accounts/bulk_update: the same fields for many ids, or per-account attributes."""
    if as_bool(call.args.get("async")):
        return error(422, "Async processing is not permitted.")
    changes = _updates(call, "account_ids", "account_attributes", accounts.FIELDS)
    if changes is None:
        return error(422, "Please provide either account_ids or account_attributes")
    out: list[Row] = []
    for account_id, args in changes[:BULK_MAX]:
        reply = accounts.update(team, find_org, _each(call, args, {"account_id": account_id}))
        if reply.status != 200:
            return reply
        out.append({"id": account_id, **{k: reply.body["account"][k] for k in accounts.FIELDS}})
    return ok({"accounts": out})


def _reassign(
    team: Team,
    rows: dict[str, Row],
    ids_key: str,
    call: Invocation,
    field: str,
    table: dict[str, Row],
) -> tuple[list[Row], Reply | None]:
    ids = as_strs(call.args.get(ids_key))
    if not ids:
        return [], error(422, f"Required parameter '{ids_key}' missing")
    value = as_text(call.args.get(field))
    if value is None:
        return [], error(422, f"Required parameter '{field}' missing")
    if value not in table:
        return [], misconfigured(value)
    missing = [i for i in ids if i not in rows]
    if missing:
        return [], misconfigured(missing[0])
    for i in ids:
        rows[i][field] = value
        rows[i]["updated_at"] = team.now()
    return [rows[i] for i in ids], None


def update_contact_owners(team: Team, call: Invocation) -> Reply:
    """POST /contacts/update_owners: every contact given to one owner."""
    rows, refusal = _reassign(team, team.contacts, "contact_ids", call, "owner_id", team.users)
    body = [{"id": r["id"], "owner_id": r["owner_id"], "crm_owner_id": None} for r in rows]
    return refusal or ok({"contacts": body})


def update_account_owners(team: Team, call: Invocation) -> Reply:
    """POST /accounts/update_owners: every account given to one owner."""
    rows, refusal = _reassign(team, team.accounts, "account_ids", call, "owner_id", team.users)
    body = [{"id": r["id"], "owner_id": r["owner_id"], "crm_owner_id": None} for r in rows]
    return refusal or ok({"accounts": body})


def update_contact_stages(team: Team, call: Invocation) -> Reply:
    """POST /contacts/update_stages: every contact moved to one stage."""
    rows, refusal = _reassign(
        team, team.contacts, "contact_ids", call, "contact_stage_id", team.contact_stages
    )
    return refusal or ok({"contacts": rows})


def bulk_create_tasks(team: Team, call: Invocation) -> Reply:
    """POST /tasks/bulk_create: one task per contact, all alike."""
    ids = as_strs(call.args.get("contact_ids"))
    if not ids:
        return error(422, "contact_ids can not be blank")
    made: list[Row] = []
    for contact_id in ids:
        reply = tasks.create(team, _each(call, {**call.args, "contact_id": contact_id}))
        if reply.status != 200:
            return reply
        made.append(reply.body["task"])
    return ok({"success": True, "tasks": made})


def _task(team: Team, call: Invocation) -> Row | None:
    return team.tasks.get(call.path["id"])


def get_task(team: Team, call: Invocation) -> Reply:
    """GET /tasks/{id}."""
    row = _task(team, call)
    if row is None:
        return error(
            422, "This task or emailer message has been deleted. Please refresh your page."
        )
    return ok({"task": tasks.render(team, row)})


TASK_FIELDS = ("user_id", "contact_id", "note", "type", "priority", "status", "due_at", "title")


def update_task(team: Team, call: Invocation) -> Reply:
    """PATCH /tasks/{id}: sent fields overwrite."""
    row = _task(team, call)
    if row is None:
        return error(422, "This task has been deleted. Please refresh your page.")
    for name, table in (("user_id", team.users), ("contact_id", team.contacts)):
        value = call.args.get(name)
        if not blank(value) and str(value) not in table:
            return misconfigured(value)
    for name in TASK_FIELDS:
        if name in call.args:
            row[name] = call.args[name]
    return ok({"task": tasks.render(team, row)})


def _close(team: Team, call: Invocation, status: str) -> Reply:
    row = _task(team, call)
    if row is None:
        return error(422, "This task has been deleted. Please refresh your page.")
    row["status"] = status
    row["completed_at" if status == "completed" else "skipped_at"] = team.now()
    if note := as_text(call.args.get("note")):
        row["note"] = note
    return ok({"task": tasks.render(team, row), "contact": team.contacts.get(row["contact_id"])})


def complete_task(team: Team, call: Invocation) -> Reply:
    """POST /tasks/{id}/complete."""
    return _close(team, call, "completed")


def skip_task(team: Team, call: Invocation) -> Reply:
    """POST /tasks/{id}/skip."""
    reply = _close(team, call, "skipped")
    if reply.status != 200:
        return reply
    task = reply.body["task"]
    return ok(
        {"task": {"id": task["id"], "status": "skipped", "note": task["note"], "completed": False}}
    )
