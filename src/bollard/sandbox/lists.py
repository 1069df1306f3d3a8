"""Lists (Apollo's `labels`) and fields: list, create, rename, add and remove records."""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_float, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, error, ok
from bollard.sandbox.team import Row, Team
from bollard.sandbox.workspace import Workspace

MODALITIES = ("contacts", "accounts")
FIELD_MODALITIES = ("contact", "account", "opportunity")
FIELD_TYPES = ("string", "textarea", "number", "date", "datetime", "boolean")


def _label(team: Team, row: Row) -> Row:
    return {
        "updated_at": row["created_at"],
        "user_id": team.owner_id,
        "book_of_business": False,
        **row,
    }


def list_lists(team: Team, call: Invocation) -> Reply:
    """GET /labels: every list, as a bare JSON array (as the document shows)."""
    team.recount_labels()
    return ok([_label(team, lb) for lb in team.labels.values()])


def create_list(team: Team, call: Invocation) -> Reply:
    """POST /labels: an empty list of contacts or accounts."""
    name = as_text(call.args.get("name"))
    if not name:
        return error(422, "Please enter a non-empty name!")
    modality = as_text(call.args.get("modality"))
    if modality not in MODALITIES:
        return error(422, f"Invalid modality: {modality}.")
    taken = any(
        lb["modality"] == modality and lb["name"].lower() == name.lower()
        for lb in team.labels.values()
    )
    if taken:
        return error(422, f"A list named {name} already exists.")
    (label,) = team.labels_for([name], modality)
    label["book_of_business"] = bool(call.args.get("book_of_business"))
    return ok({"label": _label(team, label)})


def update_list(team: Team, call: Invocation) -> Reply:
    """PATCH /labels/{id}: rename."""
    label = team.labels.get(call.path["id"])
    if label is None:
        message = f"Could not find label with id {call.path['id']}"
        return Reply(404, {"message": message, "error": "Record not found."})
    name = as_text(call.args.get("name"))
    if not name:
        return error(422, "Please enter a non-empty name!")
    label["name"] = name
    if "book_of_business" in call.args:
        label["book_of_business"] = bool(call.args["book_of_business"])
    return ok({"label": _label(team, label)})


def _records(team: Team, args: dict[str, Any]) -> tuple[dict[str, Row], list[Row]] | Reply:
    modality = as_text(args.get("modality"))
    if modality not in MODALITIES:
        return error(422, f"Invalid modality: {modality}.")
    rows = team.contacts if modality == "contacts" else team.accounts
    names = as_strs(args.get("label_names"))
    if not names:
        return error(422, "label_names can not be blank")
    return rows, team.labels_for(names, modality)


def add_records(team: Team, call: Invocation) -> Reply:
    """POST /labels/add_entity_ids_to_label_names: lists are created when missing."""
    found = _records(team, call.args)
    if isinstance(found, Reply):
        return found
    rows, labels = found
    for entity_id in as_strs(call.args.get("entity_ids")):
        row = rows.get(entity_id)
        if row is not None:
            row["label_ids"] = list(
                dict.fromkeys([*row["label_ids"], *(lb["id"] for lb in labels)])
            )
    team.recount_labels()
    return ok({"labels": [_label(team, lb) for lb in labels]})


def remove_records(team: Team, call: Invocation) -> Reply:
    """POST /labels/remove_entity_ids_from_label_names."""
    found = _records(team, call.args)
    if isinstance(found, Reply):
        return found
    rows, labels = found
    gone = {lb["id"] for lb in labels}
    for entity_id in as_strs(call.args.get("entity_ids")):
        row = rows.get(entity_id)
        if row is not None:
            row["label_ids"] = [i for i in row["label_ids"] if i not in gone]
    team.recount_labels()
    return ok({"labels": [_label(team, lb) for lb in labels]})


def list_fields(ws: Workspace, call: Invocation) -> Reply:
    """GET /fields: system and custom fields, filtered by `source`."""
    source = as_text(call.args.get("source"))
    custom = [
        {"id": f["id"], "category": "custom", "context": f["modality"], "description": None,
         "editable": True, "example": None, "field_name": f["id"], "group": None,
         "icon_class": None, "label": f["name"], "modality": f["modality"], "parent": None,
         "source": "custom", "type": f["type"]}
        for f in ws.custom_fields.values()
    ]  # fmt: skip
    rows = [*ws.fields.values(), *custom]
    return ok({"fields": [r for r in rows if source is None or r["source"] == source]})


def list_custom_fields(ws: Workspace, call: Invocation) -> Reply:
    """GET /typed_custom_fields."""
    return ok({"typed_custom_fields": list(ws.custom_fields.values())})


def create_field(ws: Workspace, call: Invocation) -> Reply:
    """POST /fields: a custom field on contacts, accounts or deals."""
    args = call.args
    label = as_text(args.get("label"))
    modality = as_text(args.get("modality"))
    kind = as_text(args.get("type"))
    if not label or modality not in FIELD_MODALITIES or kind not in FIELD_TYPES:
        return error(422, "label, modality (contact, account, opportunity) and type are required")
    raw_meta = args.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    row = ws.add_custom_field(modality, label, kind, as_float(meta.get("max_length")))
    return ok({"typed_custom_fields": [row]})


def update_fields(ws: Workspace, call: Invocation) -> Reply:
    """PATCH /fields: rename custom fields or change their text length."""
    changes = call.args.get("fields")
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        return error(422, "fields must be a list of objects with an id")
    updated: list[Row] = []
    for change in changes:
        row = ws.custom_fields.get(str(change.get("id")))
        if row is None:
            return error(422, f"Parameters misconfigured. {change.get('id')} is not a valid ID")
        if name := as_text(change.get("label") or change.get("name")):
            row["name"] = name
        meta = change.get("meta")
        if isinstance(meta, dict) and "max_length" in meta:
            row["text_field_max_length"] = as_float(meta["max_length"])
        updated.append(row)
    return ok({"fields": [], "typed_custom_fields": updated})
