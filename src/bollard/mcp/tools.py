"""The catalog as MCP tools, and gateway results as tool results. Pure.

One tool per action, named as Apollo's own MCP server names it. The input
schema, the annotations and the description all come from the catalog, so a
tool says exactly what the REST door enforces: the gateway, not the schema,
is what checks the arguments.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from bollard.calls import Answer, Held, Refusal, Result
from bollard.catalog import PATH_PARAM_VALUE, Action, Credits, Param
from bollard.doorway import held_body, held_text, refusal_body

# A summary of an action with no result key names at most this many top-level keys.
_SUMMARY_KEYS = 6


def tool(action: Action) -> types.Tool:
    """The MCP tool for one action."""
    return types.Tool(
        name=action.mcp_tool,
        title=_title(action),
        description=description(action),
        input_schema=input_schema(action),
        annotations=tool_annotations(action),
    )


def input_schema(action: Action) -> dict[str, Any]:
    """A JSON Schema for the action's arguments: types, enums, limits, required, descriptions."""
    properties = {p.name: _param_schema(p) for p in action.params}
    required = [p.name for p in action.params if p.required or p.location == "path"]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def tool_annotations(action: Action) -> types.ToolAnnotations:
    """Hints for the client, from access and risk tags: reads are read-only; a write that
    overwrites, removes, stops or sends email is destructive; every call reaches Apollo,
    and a send reaches people outside it, so the world is open."""
    read = action.access == "read"
    risky = action.destructive or bool({"destructive", "sends_email"} & set(action.tags))
    return types.ToolAnnotations(
        title=_title(action),
        read_only_hint=read,
        destructive_hint=False if read else risky,
        idempotent_hint=True if read else None,
        open_world_hint=True,
    )


def description(action: Action) -> str:
    """What the tool does, what it costs, and the limits an agent must respect."""
    lines = [action.summary, "", action.notes, "", f"Credits: {credit_text(action.credits)}"]
    if action.paging is not None:
        p = action.paging
        lines.append(
            f"Paging: per_page at most {p.per_page_max}, page at most {p.page_max} "
            f"({p.records_max:,} records per query at most); narrow the filters to see more."
        )
    if action.bulk_max is not None:
        lines.append(f"Bulk: at most {action.bulk_max} records per call; split larger batches.")
    if action.webhook and action.webhook != "None":
        lines.append(f"Webhook: {action.webhook}")
    if action.access == "write":
        effect = "changes or sends something" if action.destructive else "adds records"
        lines.append(f"Write: this {effect} in the team's Apollo account.")
    if action.tags:
        lines.append(f"Risk tags: {', '.join(action.tags)}.")
    return "\n".join(lines).strip()


def credit_text(credits: Credits) -> str:
    """The credit cost in one sentence."""
    if not credits.spends:
        return f"free: spends no Apollo credits. {credits.note}".strip()
    if credits.kind == "per_page":
        cost = f"{credits.base} per page returned"
    elif credits.kind == "per_record":
        cost = f"{credits.base} per record returned"
        if credits.phone_reveal:
            cost += f", +{credits.phone_reveal} per phone number revealed"
        if credits.email_reveal:
            cost += f", +{credits.email_reveal} per personal email revealed"
    else:
        cost = "set by the account's plan"
    if credits.waterfall:
        cost += "; waterfall enrichment vendors charge extra"
    return f"spends credits: {cost}. {credits.note}".strip()


def call_result(
    tool_name: str, result: Result, action: Action | None = None
) -> types.CallToolResult:
    """A gateway result as a tool result: Apollo's JSON structured, plus a short summary
    counting the action's result (`action.result`, from the catalog)."""
    if isinstance(result, Refusal):
        return _refused(tool_name, result)
    if isinstance(result, Held):
        structured = held_body(result)
        text = f"{held_text(result)} Tool: {STATUS_TOOL} with approval_id {result.approval.id}."
        return _tool_result(text, json.dumps(structured), structured, is_error=False)
    return _answered(tool_name, result, action)


STATUS_TOOL = "bollard_approval_status"


def status_tool() -> types.Tool:
    """The tool that answers as the REST status URL does, for agents with approve rules."""
    return types.Tool(
        name=STATUS_TOOL,
        title="Bollard: a held call's approval",
        description=(
            "Where a call held for a person's approval stands: pending, denied (with the "
            "approver's reason) or expired; once approved, this sends the call to Apollo "
            "(once) and answers with Apollo's answer. Give the approval_id the held call "
            "answered with. Poll no more than every 30 seconds."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "approval_id": {
                    "type": "string",
                    "description": "the id the held call answered with, e.g. apr_0123...",
                    "pattern": "^apr_[0-9a-f]{24}$",
                }
            },
            "required": ["approval_id"],
        },
        annotations=types.ToolAnnotations(
            title="Bollard: a held call's approval",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        ),
    )


def _answered(tool_name: str, answer: Answer, action: Action | None) -> types.CallToolResult:
    body = _json_or_none(answer.body)
    if answer.status >= 400:
        text = f"Apollo answered {answer.status}: {_apollo_message(body)}"
    else:
        text = _summary(action, answer.action or tool_name, body)
    structured = body if isinstance(body, dict) else {"result": body}
    raw = answer.body.decode("utf-8", "replace")
    return _tool_result(text, raw, structured, is_error=answer.status >= 400)


def _refused(tool_name: str, refusal: Refusal) -> types.CallToolResult:
    error = refusal.error
    if refusal.would_allow is not None:
        would = " or ".join(repr(w) for w in refusal.would_allow)
        text = (
            f"{tool_name} is not granted to this agent. A grant of {would} would allow it; "
            "ask the Bollard admin for it."
        )
    else:
        text = f"Bollard refused the call ({error.error_code}): {error.message}"
    structured = refusal_body(refusal)
    return _tool_result(text, json.dumps(structured), structured, is_error=True)


def _tool_result(
    text: str, raw: str, structured: dict[str, Any], *, is_error: bool
) -> types.CallToolResult:
    # Clients of protocol versions before structured content see only text: the
    # summary, then the whole answer.
    content = [types.TextContent(type="text", text=text), types.TextContent(type="text", text=raw)]
    return types.CallToolResult(
        content=list(content), structured_content=structured, is_error=is_error
    )


def _summary(action: Action | None, fallback: str, body: Any) -> str:
    """What came back, counted from the result key the catalog names for the action."""
    name = action.id if action is not None else fallback
    if not isinstance(body, dict):
        return f"{name}: Apollo answered."
    key = action.result if action is not None else ""
    if key and key in body:
        shown = _counted(key, body[key])
        paging = _paging_text(body)
        shown += f" ({paging})" if paging else ""
    else:
        shown = "keys " + ", ".join(list(body)[:_SUMMARY_KEYS])
    return f"{name}: {shown}. The full answer is in the structured content."


def _counted(key: str, value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} {key}" if value else f"no {key}"
    if value is None or value == {}:
        return f"no {key} found"
    record_id = value.get("id") if isinstance(value, dict) else None
    return f"one {key}" + (f", id {record_id}" if record_id else "")


def _paging_text(body: dict[str, Any]) -> str:
    pagination = body.get("pagination")
    paging = pagination if isinstance(pagination, dict) else body
    total = paging.get("total_entries")
    if not isinstance(total, int):
        return ""
    pages = paging.get("total_pages")
    page = paging.get("page")
    if total == 0 or not pages:
        return f"{total} in total"
    return f"page {page} of {pages}, {total} in total"


def _apollo_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "errors"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(body) if body is not None else "no body"


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def _title(action: Action) -> str:
    return f"Apollo {action.id}"


def _param_schema(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type, "description": param.description}
    if param.location == "path":
        schema["pattern"] = PATH_PARAM_VALUE.pattern
    if param.type == "array":
        schema["items"] = _items_schema(param)
        if param.max_items is not None:
            schema["maxItems"] = param.max_items
    elif param.enum:
        schema["enum"] = list(param.enum)
    if param.type == "object" and param.properties:
        schema["properties"] = {p.name: _param_schema(p) for p in param.properties}
    if param.minimum is not None:
        schema["minimum"] = _number(param.minimum)
    if param.maximum is not None:
        schema["maximum"] = _number(param.maximum)
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _items_schema(param: Param) -> dict[str, Any]:
    items: dict[str, Any] = {"type": param.items or "string"}
    if param.enum:
        items["enum"] = list(param.enum)
    if param.properties:
        items["properties"] = {p.name: _param_schema(p) for p in param.properties}
    return items


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
