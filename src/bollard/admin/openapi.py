"""The OpenAPI 3.1 document of the admin API. Pure: models in, a dict out.

Request bodies are the pydantic models' own JSON schemas, so the document and
the checks the API runs cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

REF = "#/components/schemas/{model}"
NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


AUDIT_PARAMS = [
    _param("agent", "only this agent", {"type": "string"}),
    _param("action", "only this action id, e.g. people.search", {"type": "string"}),
    _param("decision", "request records with this decision", {"enum": ["allow", "deny", "held"]}),
    _param("outcome", "outcome records with this outcome, e.g. ok, denied", {"type": "string"}),
    _param("kind", "one kind of record", {"enum": ["request", "outcome", "admin"]}),
    _param("door", "records from this door", {"enum": ["rest", "mcp", "admin"]}),
    _param(
        "since",
        "ISO 8601 time, inclusive (UTC if no zone)",
        {"type": "string", "format": "date-time"},
    ),
    _param("until", "ISO 8601 time, exclusive", {"type": "string", "format": "date-time"}),
    _param("limit", "records per page", {"type": "integer", "minimum": 1, "maximum": 200}),
    _param(
        "before",
        "paging cursor: next_before of the previous page",
        {"type": "integer", "minimum": 0},
    ),
    _param(
        "after", "live tail: entries with records after this seq", {"type": "integer", "minimum": 0}
    ),
]


def _ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    error = {"$ref": REF.format(model="Error")}
    texts = {
        401: "not signed in and no valid admin token",
        403: "CSRF token missing or wrong (session callers)",
        404: "no such agent or record",
        409: "an agent with this name exists",
        422: "invalid input; the message says what to fix",
        429: "too many wrong admin tokens from this address; Retry-After says how long",
        503: "the audit log cannot be written, so no change is made",
    }
    return {
        str(c): {"description": texts[c], "content": {"application/json": {"schema": error}}}
        for c in (401, 429, *codes)
    }


def _body(model: str, required: bool = True) -> dict[str, Any]:
    return {
        "required": required,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
    }


def _op(summary: str, ok: str, *codes: int, **extra: Any) -> dict[str, Any]:
    status = "201" if extra.pop("created", False) else "200"
    return {"summary": summary, "responses": {status: _ok(ok), **_errors(*codes)}, **extra}


def openapi_document(*models: type[BaseModel]) -> dict[str, Any]:
    """The whole document; `models` are the request bodies, by class name."""
    schemas = {m.__name__: m.model_json_schema(ref_template=REF) for m in models}
    schemas["Error"] = {
        "type": "object",
        "required": ["error", "error_code"],
        "properties": {"error": {"type": "string"}, "error_code": {"type": "string"}},
    }
    write = (403, 422, 503)
    paths = {
        "/admin/api/me": {
            "get": _op("Who is signed in: name, role (viewer, approver, admin), via", "the admin"),
        },
        "/admin/api/agents": {
            "get": _op("List agents with status and last use", "the agents"),
            "post": _op(
                "Create an agent; the answer holds its key, shown this once",
                "the agent and its key",
                *write,
                409,
                created=True,
                requestBody=_body("NewAgent"),
            ),
        },
        "/admin/api/agents/{name}": {
            "parameters": [NAME],
            "get": _op("One agent", "the agent", 404),
            "patch": _op(
                "Change an agent's settings: allow_unknown_parameters (each change recorded; "
                "in force on the agent's next call)",
                "the agent",
                *write,
                404,
                requestBody=_body("AgentSettings"),
            ),
        },
        "/admin/api/agents/{name}/revoke": {
            "parameters": [NAME],
            "post": _op(
                "Revoke an agent and all its keys (again: no change, already_revoked true)",
                "the revoked agent",
                *write,
                404,
                requestBody=_body("Revocation", required=False),
            ),
        },
        "/admin/api/agents/{name}/rotate": {
            "parameters": [NAME],
            "post": _op(
                "Issue a new key; old keys stop now or after the grace period",
                "the new key",
                *write,
                404,
                requestBody=_body("Rotation", required=False),
            ),
        },
        "/admin/api/agents/{name}/grants": {
            "parameters": [NAME],
            "get": _op(
                "The grants matrix: resources × read/write, and each action", "the matrix", 404
            ),
            "post": _op(
                "Add and remove grants (in force on the agent's next call)",
                "the agent's grants",
                *write,
                404,
                requestBody=_body("GrantChange"),
            ),
        },
        "/admin/api/limits": {
            "get": _op(
                "Apollo's team-wide rate-limit windows and each agent's own limits",
                "the windows and limits",
            )
        },
        "/admin/api/rules": {
            "get": _op("Every policy rule, by id", "the rules"),
            "post": _op(
                "Add a policy rule (checked as written; in force on the next call)",
                "the rule with its id",
                *write,
                404,
                created=True,
                requestBody=_body("NewRule"),
            ),
        },
        "/admin/api/rules/{rule_id}/remove": {
            "parameters": [
                {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "post": _op(
                "Remove a policy rule of an agent (agent null: a team-wide rule)",
                "the rule removed",
                *write,
                404,
                requestBody=_body("RuleRemoval", required=False),
            ),
        },
        "/admin/api/rules/{rule_id}/edit": {
            "parameters": [
                {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "post": _op(
                "Edit a policy rule in place, keeping its id (checked as a new rule is)",
                "the rule as stored",
                *write,
                404,
                requestBody=_body("NewRule"),
            ),
        },
        "/admin/api/policy": {
            "get": _op(
                "The whole policy (agents, grants, rules, limits, budgets; never keys) "
                "as the TOML file `bollard policy export` writes, and as JSON",
                "toml: the file; policy: the same as JSON",
            )
        },
        "/admin/api/policy/apply": {
            "post": _op(
                "Diff a policy file against the store (dry_run, the default) or make the "
                "store match it in one transaction, each change recorded; a bad file "
                "changes nothing and the error names its line",
                "changes: the diff; keys: new agents' keys, shown once",
                *write,
                requestBody=_body("PolicyApply"),
            )
        },
        "/admin/api/usage": {
            "get": _op(
                "Calls and credits per agent over time",
                "the series",
                422,
                parameters=[_param("days", "1 (hourly), 7 or 30 (daily)", {"enum": [1, 7, 30]})],
            )
        },
        "/admin/api/audit": {
            "get": _op(
                "Search the audit log, newest first", "log entries", 422, parameters=AUDIT_PARAMS
            )
        },
        "/admin/api/audit/verify": {
            "get": _op(
                "The chain's status: a re-walk of the newest records, or (full=true) "
                "every record and signed checkpoint",
                "the chain's status",
                422,
                parameters=[_param("full", "verify the whole log", {"enum": ["true", "false"]})],
            )
        },
        "/admin/api/audit/{seq}": {
            "parameters": [
                {
                    "name": "seq",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "get": _op("Every record of the call a record belongs to", "the records", 404, 422),
        },
    }
    paths |= _approval_paths(write)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bollard admin API",
            "version": "1",
            "description": (
                "Manage agents, grants and limits, and read the audit log and usage. "
                "Authenticate with the admin token as `Authorization: Bearer <token>`; "
                "console pages use their session cookie and send `X-CSRF-Token` on writes."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"adminToken": []}],
    }


APPROVAL_ID = {
    "name": "approval_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^apr_[0-9a-f]{24}$"},
}
STATUSES = ["pending", "approved", "denied", "expired", "executed"]


def _approval_paths(write: tuple[int, ...]) -> dict[str, Any]:
    """Held calls: list, show, approve, deny (each decision recorded with its actor)."""
    return {
        "/admin/api/approvals": {
            "get": _op(
                "Held calls, newest first, with agent, action, arguments, credit quote, rule",
                "the approvals",
                422,
                parameters=[_param("status", "only this status", {"enum": STATUSES})],
            )
        },
        "/admin/api/approvals/{approval_id}": {
            "parameters": [APPROVAL_ID],
            "get": _op("One held call in full", "the approval", 404),
        },
        "/admin/api/approvals/{approval_id}/approve": {
            "parameters": [APPROVAL_ID],
            "post": _op(
                "Approve a pending call: the agent's next poll sends it to Apollo, once",
                "the approval",
                *write,
                404,
                requestBody=_body("ApprovalNote", required=False),
            ),
        },
        "/admin/api/approvals/{approval_id}/deny": {
            "parameters": [APPROVAL_ID],
            "post": _op(
                "Deny a pending call: nothing is sent; the agent reads the reason",
                "the approval",
                *write,
                404,
                requestBody=_body("ApprovalDenial"),
            ),
        },
    }
