"""Write the catalog's "from Apollo's document" block from Apollo's OpenAPI document.

    uv run python -m tests.catalog.regenerate

The seed's 20 actions stay hand-written at the top of `apollo.toml`. Every other
operation of the vendored document (`data/apollo-rest-api-openapi.json`, see
`data/SOURCE.md`) becomes one `[[actions]]` entry after `MARKER`: method, path,
key and OAuth scopes, credits and parameters are read from the document; what
the document does not say (the stable id, whether the action reads or writes,
its risk tags, bulk limits) comes from `CURATED` below; the document states no
paging caps for these, so none are set. The output is data a person can review
and edit; run this again only to pick up a new document.
"""

# ruff: noqa: E501  (CURATED is a table: one operation a line)
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCUMENT = HERE / "data" / "apollo-rest-api-openapi.json"
CATALOG = HERE.parents[1] / "src" / "bollard" / "catalog" / "apollo.toml"
MARKER = "# ═══ From Apollo's OpenAPI document"
METHODS = ("get", "post", "put", "patch", "delete")
SEED_ROUTES = {
    ("POST", "/mixed_people/api_search"),
    ("POST", "/people/match"),
    ("POST", "/people/bulk_match"),
    ("POST", "/mixed_companies/search"),
    ("GET", "/organizations/enrich"),
    ("POST", "/contacts"),
    ("PATCH", "/contacts/{contact_id}"),
    ("POST", "/contacts/search"),
    ("POST", "/accounts"),
    ("PATCH", "/accounts/{account_id}"),
    ("POST", "/accounts/search"),
    ("POST", "/emailer_campaigns/search"),
    ("POST", "/emailer_campaigns/{sequence_id}/add_contact_ids"),
    ("POST", "/tasks"),
    ("POST", "/tasks/search"),
    ("POST", "/opportunities"),
    ("PATCH", "/opportunities/{opportunity_id}"),
    ("GET", "/opportunities/search"),
    ("GET", "/users/search"),
    ("POST", "/usage_stats/api_usage_stats"),
}

# (method, path) → id, access, tags beyond spends_credits (which follows the
# credits), and extras: bulk_max, tool (an MCP name where the key-scope
# pattern would collide), scope (for the master-only operations, which name
# none), enums the document gives only in prose.
CURATED: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/organizations/bulk_enrich"): {"id": "organizations.bulk_enrich", "access": "read", "tags": ["bulk"], "bulk_max": 10},
    ("GET", "/organizations/{organization_id}/job_postings"): {"id": "organizations.job_postings", "access": "read"},
    ("POST", "/accounts/bulk_create"): {"id": "accounts.bulk_create", "access": "write", "tags": ["bulk"], "bulk_max": 100},
    ("POST", "/accounts/bulk_update"): {"id": "accounts.bulk_update", "access": "write", "tags": ["bulk", "changes_owner"], "bulk_max": 100},
    ("POST", "/accounts/update_owners"): {"id": "accounts.update_owners", "access": "write", "tags": ["bulk", "changes_owner"]},
    ("GET", "/account_stages"): {"id": "accounts.list_stages", "access": "read"},
    ("GET", "/contacts/{contact_id}"): {"id": "contacts.get", "access": "read"},
    ("POST", "/contacts/{contact_id}/opportunities"): {"id": "contacts.deals", "access": "read", "tool": "apollo_contacts_opportunities"},
    ("POST", "/contacts/update_stages"): {"id": "contacts.update_stages", "access": "write", "tags": ["bulk"]},
    ("POST", "/contacts/update_owners"): {"id": "contacts.update_owners", "access": "write", "tags": ["bulk", "changes_owner"]},
    ("POST", "/contacts/bulk_create"): {"id": "contacts.bulk_create", "access": "write", "tags": ["bulk", "changes_owner"], "bulk_max": 100},
    ("POST", "/contacts/bulk_update"): {"id": "contacts.bulk_update", "access": "write", "tags": ["bulk", "changes_owner"], "bulk_max": 100},
    ("GET", "/contact_stages"): {"id": "contacts.list_stages", "access": "read"},
    ("GET", "/emailer_schedules"): {"id": "sequences.list_schedules", "access": "read"},
    ("GET", "/opportunities/{opportunity_id}"): {"id": "deals.get", "access": "read"},
    ("GET", "/opportunity_stages"): {"id": "deals.list_stages", "access": "read"},
    ("POST", "/emailer_campaigns/remove_or_stop_contact_ids"): {
        "id": "sequences.remove_contacts", "access": "write", "tags": ["bulk", "destructive"],
        "enums": {"mode": ["mark_as_finished", "remove", "stop"]},
    },
    ("POST", "/sequences"): {"id": "sequences.create", "access": "write", "tags": ["sends_email"]},
    ("PUT", "/sequences/{id}"): {"id": "sequences.update", "access": "write", "tags": ["sends_email"]},
    ("POST", "/tasks/bulk_create"): {"id": "tasks.bulk_create", "access": "write", "tags": ["bulk"]},
    ("GET", "/tasks/{id}"): {"id": "tasks.get", "access": "read"},
    ("PATCH", "/tasks/{id}"): {"id": "tasks.update", "access": "write", "tags": ["changes_owner"]},
    ("POST", "/tasks/{id}/complete"): {"id": "tasks.complete", "access": "write"},
    ("POST", "/tasks/{id}/skip"): {"id": "tasks.skip", "access": "write"},
    ("POST", "/emailer_messages"): {"id": "emails.create_draft", "access": "write"},
    ("POST", "/emailer_messages/{id}/send_now"): {"id": "emails.send_now", "access": "write", "tags": ["sends_email"]},
    ("POST", "/emailer_messages/get_content"): {"id": "emails.get_content", "access": "read"},
    ("POST", "/emailer_messages/email_send_status"): {"id": "emails.send_status", "access": "read"},
    ("GET", "/users/api_profile"): {"id": "users.profile", "access": "read"},
    ("GET", "/email_accounts"): {"id": "email_accounts.list", "access": "read"},
    ("GET", "/labels"): {"id": "lists.list", "access": "read"},
    ("POST", "/labels"): {"id": "lists.create", "access": "write"},
    ("PATCH", "/labels/{id}"): {"id": "lists.update", "access": "write"},
    ("POST", "/labels/add_entity_ids_to_label_names"): {"id": "lists.add_records", "access": "write", "tags": ["bulk"]},
    ("POST", "/labels/remove_entity_ids_from_label_names"): {"id": "lists.remove_records", "access": "write", "tags": ["bulk", "destructive"]},
    ("GET", "/fields"): {"id": "fields.list", "access": "read"},
    ("POST", "/fields"): {"id": "fields.create", "access": "write"},
    ("PATCH", "/fields"): {"id": "fields.update", "access": "write"},
    ("GET", "/typed_custom_fields"): {"id": "fields.list_custom", "access": "read"},
    ("GET", "/organizations/{id}"): {"id": "organizations.get", "access": "read"},
    ("GET", "/people/{id}"): {"id": "people.get", "access": "read"},
    ("GET", "/accounts/{id}"): {"id": "accounts.get", "access": "read"},
    ("GET", "/phone_calls/search"): {"id": "calls.search", "access": "read", "scope": "api/v1/phone_calls/search"},
    ("GET", "/emailer_messages/{id}/activities"): {"id": "emails.stats", "access": "read", "scope": "api/v1/emailer_messages/activities"},
    ("GET", "/emailer_messages/search"): {"id": "emails.search", "access": "read"},
    ("GET", "/webhook_result/{request_id}"): {"id": "people.webhook_result", "access": "read"},
    ("POST", "/usage_stats/credit_usage_stats"): {"id": "usage.credits", "access": "read"},
    ("POST", "/phone_calls"): {"id": "calls.create", "access": "write", "scope": "api/v1/phone_calls/create"},
    ("PUT", "/phone_calls/{id}"): {"id": "calls.update", "access": "write", "scope": "api/v1/phone_calls/update"},
    ("POST", "/news_articles/search"): {"id": "news.search", "access": "read"},
    ("POST", "/emailer_campaigns/activity_feed"): {"id": "sequences.activity", "access": "read"},
    ("POST", "/emailer_campaigns/{sequence_id}/approve"): {"id": "sequences.activate", "access": "write", "tags": ["sends_email"]},
    ("POST", "/emailer_campaigns/{sequence_id}/abort"): {"id": "sequences.deactivate", "access": "write", "tags": ["destructive"]},
    ("POST", "/emailer_campaigns/{sequence_id}/archive"): {"id": "sequences.archive", "access": "write", "tags": ["destructive"]},
    ("GET", "/notes"): {"id": "notes.list", "access": "read"},
    ("POST", "/reports/sync_report"): {"id": "reports.sync", "access": "read", "tool": "apollo_analytics_sync_report"},
    ("POST", "/conversations/search"): {"id": "conversations.search", "access": "read"},
    ("GET", "/conversations/{id}"): {"id": "conversations.get", "access": "read"},
    ("POST", "/conversations/export"): {"id": "conversations.export", "access": "read"},
    ("GET", "/conversations/export/{id}"): {"id": "conversations.get_export", "access": "read"},
}  # fmt: skip

ACTS_ON = {
    "people": "person",
    "organizations": "organization",
    "accounts": "account",
    "contacts": "contact",
    "deals": "deal",
    "sequences": "sequence",
    "tasks": "task",
    "emails": "email",
    "users": "user",
    "email_accounts": "email account",
    "lists": "list",
    "fields": "field",
    "calls": "call",
    "usage": "usage report",
    "news": "news article",
    "notes": "note",
    "reports": "report",
    "conversations": "conversation",
}

AREAS = {
    "emails": ("Emails", "Draft, send and search one-off and sequence emails, and read their content and stats."),
    "email_accounts": ("Email accounts", "The mailboxes teammates linked to Apollo; sequences send from them."),
    "lists": ("Lists", "The team's lists of contacts or accounts: create, rename, add and remove records."),
    "fields": ("Fields", "The standard and custom fields of contacts, accounts and deals."),
    "calls": ("Calls", "Phone call records: search, log and update."),
    "news": ("News", "News articles about companies, by category and date."),
    "notes": ("Notes", "Notes taken against contacts, accounts, deals and conversations."),
    "reports": ("Reports", "Analytics reports over the team's outreach, run on demand."),
    "conversations": ("Conversations", "Recorded calls and meetings: search, read, and export."),
}  # fmt: skip

# Parameters whose kind only the prose states; agents need the closed list.
PROSE_ENUMS = {
    "type": ["call", "outreach_manual_email", "linkedin_step_connect", "linkedin_step_message",
             "linkedin_step_view_profile", "linkedin_step_interact_post", "action_item"],
    "priority": ["high", "medium", "low"],
}  # fmt: skip
PROSE_ENUM_IDS = {"tasks.bulk_create", "tasks.update"}

RATE_NOTES = {
    "organizations.bulk_enrich": "About one tenth of the single-company endpoint's limit (Apollo's usage-stats example shows 20 per minute, 100 per hour, 600 per day).",
    "reports.sync": "Apollo's usage-stats example shows 200 per minute but only 5 per hour.",
    "conversations.export": "Apollo's usage-stats example shows 1 per minute, 20 per hour, 480 per day.",
}  # fmt: skip
STANDARD_RATE = "Standard limits apply: per-endpoint minute, hour and day windows set by the plan."
MASTER_NOTE = "Requires a master API key; a scoped key gets 403."


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation, in document order."""
    return [
        (method.upper(), path, op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    ]


def text(raw: str, limit: int = 420) -> str:
    """Documentation prose as plain text an agent reads: no HTML, no link targets."""
    raw = re.sub(r"<li>\s*", "; ", raw)
    raw = re.sub(r"<br\s*/?>|</?p>|</?ul>|</li>", " ", raw)
    raw = re.sub(r"<[^>]+>", "", raw)
    raw = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", raw)
    raw = html.unescape(raw).replace("**", "")
    raw = re.sub(r"\s+", " ", raw).strip().lstrip("; ")
    raw = re.sub(r":\s*;\s*", ": ", raw)
    if len(raw) <= limit:
        return raw
    cut = raw[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > limit // 3 else cut.rstrip() + "…"


def essentials(op: dict[str, Any]) -> dict[str, str]:
    desc = op.get("description", "")
    found = {}
    for key, label in (
        ("key", "API key access"),
        ("oauth", "OAuth scopes?"),
        ("credits", "Credit usage"),
    ):
        match = re.search(rf"\*\*{label}:\*\*\s*(.*)", desc)
        found[key] = match.group(1).strip() if match else ""
    lines = [ln for ln in desc.splitlines() if not ln.startswith(("**", "#"))]
    found["prose"] = "\n".join(lines)
    return found


def _scope(value: str) -> str:
    scope = re.findall(r"`([^`]+)`", value)
    return scope[0] if scope else value


def _tool(scope: str) -> str:
    path = re.sub(r"^(?:deals/|meetings/)?api/v1/", "", scope)
    return "apollo_" + path.replace("/", "_")


def _summary(op: dict[str, Any], prose: str) -> str:
    match = re.search(r"Use the .{3,80}? endpoint to ([^.]+\.)", text(prose, 2000))
    if match:
        sentence = match.group(1)
        return sentence[0].upper() + sentence[1:]
    return str(op["summary"]) + "."


def _credits(line: str) -> dict[str, Any]:
    if line.startswith("`0 credits`"):
        return {"kind": "none", "note": "Free: Apollo's document lists 0 credits."}
    cost = _scope(line)
    if "per page" in cost:
        return {"kind": "per_page", "base": 1, "note": f"{cost}, as Apollo's document states."}
    return {"kind": "per_record", "base": 1, "note": f"{cost}, as Apollo's document states."}


def _type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if kind is None and "oneOf" in schema:
        return "array" if any(s.get("type") == "array" for s in schema["oneOf"]) else "string"
    return (
        kind if kind in ("string", "integer", "number", "boolean", "array", "object") else "string"
    )


def _param(
    name: str,
    where: str,
    schema: dict[str, Any],
    description: str,
    required: bool,
    enums: dict[str, list[str]],
) -> dict[str, Any]:
    kind = _type(schema)
    out: dict[str, Any] = {"name": name, "type": kind}
    if kind == "array":
        items = schema.get("items", {})
        if "oneOf" in schema:
            items = next(s for s in schema["oneOf"] if s.get("type") == "array").get("items", {})
        out["items"] = _type(items) if items else "string"
        if "enum" in items:
            out["enum"] = [str(e) for e in items["enum"]]
        if schema.get("maxItems"):
            out["max_items"] = schema["maxItems"]
    elif "enum" in schema:
        out["enum"] = [str(e) for e in schema["enum"]]
    if name in enums:
        out["enum"] = enums[name]
    if where != "nested":
        out["in"] = where
    if required:
        out["required"] = True
    for key in ("minimum", "maximum"):
        if isinstance(schema.get(key), int | float) and not isinstance(schema.get(key), bool):
            out[key] = schema[key]
    default = schema.get("default")
    if (
        default not in (None, "")
        and isinstance(default, str | int | float | bool)
        and kind != "array"
    ):
        out["default"] = default
    prose = text(description or schema.get("description", ""))
    out["description"] = (
        prose
        if len(prose) >= 10
        else f"The {name.replace('_', ' ')}, as Apollo's document names it."
    )
    props = schema.get("properties") or (schema.get("items") or {}).get("properties") or {}
    if props and (kind == "object" or out.get("items") == "object"):
        required_props = set(
            schema.get("required", []) or (schema.get("items") or {}).get("required", [])
        )
        out["properties"] = [
            _param(n, "nested", s, s.get("description", ""), n in required_props, enums)
            for n, s in props.items()
        ]
    return out


def params(op: dict[str, Any], enums: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The operation's parameters: `name[]` arrays and `name[key]` ranges folded, body merged."""
    out: list[dict[str, Any]] = []
    ranges: dict[str, dict[str, Any]] = {}
    for raw in op.get("parameters", []):
        name, where, schema = raw["name"], raw["in"], raw.get("schema", {})
        description = raw.get("description", "") or schema.get("description", "")
        base, _, rest = name.partition("[")
        if rest and rest != "]":
            key = rest.rstrip("]")
            obj = ranges.get(base)
            if obj is None:
                obj = {"name": base, "type": "object", "in": where, "properties": [],
                       "description": f"A range for {base.replace('_', ' ')}, e.g. {{\"min\": …, \"max\": …}}; in a query string {base}[min]=…"}  # fmt: skip
                ranges[base] = obj
                out.append(obj)
            obj["properties"].append(_param(key, "nested", schema, description, False, enums))
            continue
        if where == "path":
            schema = {**schema, "type": "string"}  # a URL segment, whatever the document types it
        out.append(_param(base, where, schema, description, bool(raw.get("required")), enums))
    for content in op.get("requestBody", {}).get("content", {}).values():
        schema = content.get("schema", {})
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            if prop.get("deprecated"):
                continue
            out.append(
                _param(name, "body", prop, prop.get("description", ""), name in required, enums)
            )
        break
    for obj in ranges.values():
        obj["properties"].sort(key=lambda p: p["name"] != "min")
    return out


def deprecated(op: dict[str, Any]) -> list[str]:
    """Body properties the document marks deprecated: Apollo still accepts them, so
    Bollard does not refuse them as unknown, but does not offer them either."""
    for content in op.get("requestBody", {}).get("content", {}).values():
        properties = content.get("schema", {}).get("properties", {})
        return [name for name, prop in properties.items() if prop.get("deprecated")]
    return []


def action(method: str, path: str, op: dict[str, Any]) -> dict[str, Any]:
    curated = CURATED[method, path]
    ess = essentials(op)
    action_id = curated["id"]
    resource = action_id.split(".")[0]
    key = ess["key"]
    master = "or `Master API key`" not in key
    # The four master-only operations name no scope; Bollard names them by their path.
    scope = curated.get("scope") or _scope(key)
    credits = _credits(ess["credits"])
    enums = {**curated.get("enums", {}), **(PROSE_ENUMS if action_id in PROSE_ENUM_IDS else {})}
    tags = list(curated.get("tags", []))
    if credits["kind"] != "none":
        tags.insert(0, "spends_credits")
    notes = text(ess["prose"], 700)
    if master:
        notes = f"{MASTER_NOTE} {notes}"
    replaces = method in ("PATCH", "PUT") or "update" in action_id
    destructive = curated["access"] == "write" and (
        replaces or bool({"destructive", "sends_email"} & set(tags))
    )
    entry: dict[str, Any] = {
        "id": action_id,
        "origin": "openapi",
        "resource": resource,
        "access": curated["access"],
        "method": method,
        "path": path,
        "master_key": master,
        "key_scope": scope,
        "oauth_scope": _scope(ess["oauth"]),
        "mcp_tool": curated.get("tool") or _tool(scope),
        "summary": _summary(op, ess["prose"]),
        "notes": notes,
        "acts_on": ACTS_ON[resource],
        "version": "Current; listed in Apollo's OpenAPI document (apollo-rest-api 1.0)",
        "rate_limit": RATE_NOTES.get(action_id, STANDARD_RATE),
        "webhook": "None",
        "source": f"https://docs.apollo.io/reference/{op['operationId']}",
        "tags": tags,
        "credits": credits,
        "params": params(op, enums),
    }
    if destructive:
        entry["destructive"] = True
    accepted = deprecated(op)
    if accepted:
        entry["accepted"] = accepted
    if "bulk_max" in curated:
        entry["bulk_max"] = curated["bulk_max"]
    if action_id == "people.webhook_result":
        entry["webhook"] = (
            "The poll for enrichment results delivered to webhook_url: Bollard answers "
            "only the agent whose enrichment call produced the request_id (anyone else gets 404)."
        )
    return entry


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def _param_toml(param: dict[str, Any], table: str) -> list[str]:
    lines = ["", f"[[{table}]]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in param.items() if k != "properties"]
    for nested in param.get("properties", []):
        lines += _param_toml(nested, f"{table}.properties")
    return lines


def entry_toml(entry: dict[str, Any]) -> str:
    lines = ["", "[[actions]]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in entry.items() if k != "params"]
    for param in entry["params"]:
        lines += _param_toml(param, "actions.params")
    return "\n".join(lines)


def block(document: dict[str, Any]) -> str:
    ops = [(m, p, op) for m, p, op in operations(document) if (m, p) not in SEED_ROUTES]
    out = [
        MARKER + " (generated by tests/catalog/regenerate.py from",
        "# tests/catalog/data/apollo-rest-api-openapi.json; see data/SOURCE.md) ═══",
        "# Master keys follow the document: it names a scoped key or the master key for",
        "# every one of these except the four it marks master-only.",
    ]
    for resource, (title, summary) in AREAS.items():
        out += ["", "[[guide.areas]]", f"resource = {toml_value(resource)}",
                f"title = {toml_value(title)}", f"summary = {toml_value(summary)}"]  # fmt: skip
    entries = [action(m, p, op) for m, p, op in ops]
    order = list(ACTS_ON)
    entries.sort(key=lambda e: order.index(e["resource"]))
    out += [entry_toml(e) for e in entries]
    return "\n".join(out) + "\n"


def main() -> None:
    document = json.loads(DOCUMENT.read_text("utf-8"))
    current = CATALOG.read_text("utf-8")
    head = current.split(MARKER)[0].rstrip("\n") + "\n\n"
    CATALOG.write_text(head + block(document), "utf-8")


if __name__ == "__main__":
    main()
