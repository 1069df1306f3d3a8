"""The admin JSON API under /admin/api, and its OpenAPI document.

Callers are the console's pages (session cookie + `X-CSRF-Token` on writes)
and scripts (`Authorization: Bearer <admin token>`). Every refusal is one
`AdminError` rendered in one place, `_guarded`, as
`{"error": message, "error_code": CODE}`; bodies are checked by pydantic
models whose JSON schemas are also what the OpenAPI document publishes.
The route table here is the one source of each route's role; the policy
endpoints are in policy_api, the held-call ones in approvals_api, what a
handler reads off a request in requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bollard.admin import log as audit_log
from bollard.admin import roles, usage
from bollard.admin.approvals_api import (
    ApprovalDenial,
    ApprovalNote,
    approve_call,
    deny_call,
    get_approval,
    list_approvals,
)
from bollard.admin.auth import CSRF_HEADER, SAFE_METHODS, AdminAuth, Principal
from bollard.admin.changes import Changes, actor_for
from bollard.admin.grants import matrix
from bollard.admin.openapi import openapi_document
from bollard.admin.policy_api import (
    NewRule,
    PolicyApply,
    RuleRemoval,
    add_rule,
    apply_policy,
    edit_rule,
    export_policy,
    list_rules,
    remove_rule,
)
from bollard.admin.problems import (
    AdminError,
    AdminUnauthenticated,
    CsrfRejected,
    InvalidInput,
    UnknownRecord,
    problem,
)
from bollard.admin.requests import engine_of, gateway_of, read_body
from bollard.admins import Role
from bollard.agents import Agent, utcnow
from bollard.audit.search import AuditFilters

log = logging.getLogger("bollard.admin")
Handler = Callable[[Request, Principal], Awaitable[Response]]
_UNKNOWN = (
    "true: parameters an action does not take go to Apollo (which may ignore them), each "
    "recorded as a warning; false (the default): refused with UNKNOWN_PARAMETER"
)


class NewAgent(BaseModel):
    """An agent to create."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, description="lowercase letters, digits, _ . -")
    grants: list[str] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=500)
    expires_in: str | None = Field(default=None, max_length=16, description="e.g. 30d, 12h")
    allow_unknown_parameters: bool = Field(default=False, description=_UNKNOWN)
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


class AgentSettings(BaseModel):
    """An agent's settings to change."""

    model_config = ConfigDict(extra="forbid")
    allow_unknown_parameters: bool = Field(description=_UNKNOWN)
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


class Rotation(BaseModel):
    """How to rotate an agent's key."""

    model_config = ConfigDict(extra="forbid")
    grace: str | None = Field(
        default=None, max_length=16, description="keep old keys working this long, e.g. 1h"
    )
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


class Revocation(BaseModel):
    """Why an agent is revoked (optional)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


class GrantChange(BaseModel):
    """Grants to add and remove, in one change."""

    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


def agent_json(agent: Agent, last_used_us: int | None) -> dict[str, Any]:
    """An agent as the API shows it (never a key)."""
    return {
        "name": agent.name,
        "note": agent.note,
        "status": agent.status(utcnow()),
        "grants": list(agent.grants),
        "created_at": _iso(agent.created_at),
        "expires_at": _iso(agent.expires_at),
        "revoked_at": _iso(agent.revoked_at),
        "last_used_at": _iso_us(last_used_us),
        "allow_unknown_parameters": agent.allow_unknown_parameters,
    }


def api_routes(auth: AdminAuth) -> list[Route]:
    """The routes under /admin/api, each guarded by `auth` and the role it needs."""
    viewer, approver, admin = Role.VIEWER, Role.APPROVER, Role.ADMIN
    table: list[tuple[str, Handler, str, Role]] = [
        ("/me", me, "GET", viewer),
        ("/agents", list_agents, "GET", viewer),
        ("/agents", create_agent, "POST", admin),
        ("/agents/{name}", get_agent, "GET", viewer),
        ("/agents/{name}", update_agent, "PATCH", admin),
        ("/agents/{name}/revoke", revoke_agent, "POST", admin),
        ("/agents/{name}/rotate", rotate_agent, "POST", admin),
        ("/agents/{name}/grants", get_grants, "GET", viewer),
        ("/agents/{name}/grants", change_grants, "POST", admin),
        ("/limits", limits, "GET", viewer),
        ("/rules", list_rules, "GET", viewer),
        ("/rules", add_rule, "POST", admin),
        ("/rules/{rule_id:int}/edit", edit_rule, "POST", admin),
        ("/rules/{rule_id:int}/remove", remove_rule, "POST", admin),
        ("/policy", export_policy, "GET", viewer),
        ("/policy/apply", apply_policy, "POST", admin),
        ("/approvals", list_approvals, "GET", viewer),
        ("/approvals/{approval_id}", get_approval, "GET", viewer),
        ("/approvals/{approval_id}/approve", approve_call, "POST", approver),
        ("/approvals/{approval_id}/deny", deny_call, "POST", approver),
        ("/usage", usage_report, "GET", viewer),
        ("/audit", audit_search, "GET", viewer),
        ("/audit/verify", audit_verify, "GET", viewer),
        ("/audit/{seq}", audit_record, "GET", viewer),
    ]
    routes = [Route("/openapi.json", openapi, methods=["GET"])]
    routes += [
        Route(p, _guarded(auth, h, role), methods=[m], name=h.__name__) for p, h, m, role in table
    ]
    return routes


def _guarded(
    auth: AdminAuth, handler: Handler, role: Role = roles.DEFAULT
) -> Callable[[Request], Awaitable[Response]]:
    """The handler behind sign-in, the role it needs (admin unless told) and CSRF."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = await auth.principal(request)
            if principal is None:
                raise AdminUnauthenticated(
                    "sign in to the console, or send an admin token as Authorization: Bearer"
                )
            request.state.admin = principal.admin
            roles.check(principal.admin, role)
            unsafe = request.method not in SAFE_METHODS and principal.via == "session"
            if unsafe and not auth.csrf_matches(
                principal.session_id, request.headers.get(CSRF_HEADER)
            ):
                raise CsrfRejected(
                    "missing or wrong X-CSRF-Token header: send the token from the "
                    "console page's <meta name=csrf-token>"
                )
            return await handler(request, principal)
        except AdminError as exc:
            return problem(exc)

    return endpoint


async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document describing this API."""
    return JSONResponse(
        openapi_document(
            NewAgent,
            AgentSettings,
            Rotation,
            Revocation,
            GrantChange,
            NewRule,
            RuleRemoval,
            PolicyApply,
            ApprovalNote,
            ApprovalDenial,
        )
    )


async def me(request: Request, principal: Principal) -> Response:
    """Who is signed in: name, role, and how (session or token)."""
    admin = principal.admin
    return JSONResponse({"name": admin.name, "role": admin.role.value, "via": principal.via})


async def list_agents(request: Request, principal: Principal) -> Response:
    gateway = gateway_of(request)
    found = await run_in_threadpool(gateway.agents.list)
    used = await run_in_threadpool(audit_log.last_use, engine_of(request))
    return JSONResponse({"agents": [agent_json(a, used.get(a.name)) for a in found]})


async def create_agent(request: Request, principal: Principal) -> Response:
    body = await read_body(request, NewAgent)
    agent, key = await Changes.of(request).create(
        body.name,
        body.grants,
        body.note,
        body.expires_in,
        by=actor_for(request, principal.via),
        reason=body.reason,
        allow_unknown_parameters=body.allow_unknown_parameters,
    )
    return JSONResponse({"agent": agent_json(agent, None), "key": key}, status_code=201)


async def get_agent(request: Request, principal: Principal) -> Response:
    agent = await Changes.of(request).agent(request.path_params["name"])
    used = await run_in_threadpool(audit_log.last_use, engine_of(request))
    return JSONResponse({"agent": agent_json(agent, used.get(agent.name))})


async def update_agent(request: Request, principal: Principal) -> Response:
    body = await read_body(request, AgentSettings)
    agent = await Changes.of(request).allow_unknown(
        request.path_params["name"],
        body.allow_unknown_parameters,
        actor_for(request, principal.via),
        reason=body.reason,
    )
    used = await run_in_threadpool(audit_log.last_use, engine_of(request))
    return JSONResponse({"agent": agent_json(agent, used.get(agent.name))})


async def revoke_agent(request: Request, principal: Principal) -> Response:
    body = await read_body(request, Revocation, empty_ok=True)
    done = await Changes.of(request).revoke(
        request.path_params["name"], actor_for(request, principal.via), reason=body.reason
    )
    return JSONResponse({"agent": agent_json(done.agent, None), "already_revoked": done.already})


async def rotate_agent(request: Request, principal: Principal) -> Response:
    body = await read_body(request, Rotation, empty_ok=True)
    name = request.path_params["name"]
    done = await Changes.of(request).rotate(
        name, body.grace, actor_for(request, principal.via), reason=body.reason
    )
    return JSONResponse(
        {"name": name, "key": done.key, "old_keys_until": _iso(done.old_keys_until)}
    )


async def get_grants(request: Request, principal: Principal) -> Response:
    gateway = gateway_of(request)
    agent = await Changes.of(request).agent(request.path_params["name"])
    grid = matrix(gateway.catalog, agent.grants)
    return JSONResponse({"name": agent.name, "grants": list(agent.grants), **grid.to_json()})


async def change_grants(request: Request, principal: Principal) -> Response:
    body = await read_body(request, GrantChange)
    agent = await Changes.of(request).regrant(
        request.path_params["name"],
        body.add,
        body.remove,
        actor_for(request, principal.via),
        reason=body.reason,
    )
    return JSONResponse({"name": agent.name, "grants": list(agent.grants)})


async def limits(request: Request, principal: Principal) -> Response:
    engine = engine_of(request)
    source, windows = await run_in_threadpool(usage.apollo_windows, engine)
    rules = await run_in_threadpool(usage.limit_rules, engine)
    return JSONResponse(
        {"apollo_windows": {"source": source, "windows": windows}, "agent_limits": rules}
    )


async def usage_report(request: Request, principal: Principal) -> Response:
    days = _int_param(request, "days", 7, 1, 30)
    if days not in usage.PERIODS:
        raise InvalidInput(f"days must be one of {', '.join(map(str, usage.PERIODS))}")
    window = usage.Window.ending(int(datetime.now(UTC).timestamp() * 1e6), days)
    engine = await audit_log.settled(request)
    series = await run_in_threadpool(lambda: usage.tally(usage.usage_rows(engine, window), window))
    labels = window.labels()
    return JSONResponse(
        {
            "days": days,
            "bucket_seconds": window.bucket_us // 1_000_000,
            "buckets": labels,
            "agents": {
                name: {
                    "calls": s.calls,
                    "denied": s.denied,
                    "credits": s.credits,
                    "total_calls": s.total_calls,
                    "total_credits": s.total_credits,
                }
                for name, s in series.items()
            },
        }
    )


async def audit_search(request: Request, principal: Principal) -> Response:
    filters = audit_filters(request)
    limit = _int_param(request, "limit", 50, 1, 200)
    engine = await audit_log.settled(request)
    after = request.query_params.get("after")
    if after is not None:
        after_seq = _int_param(request, "after", 0, 0, 2**62)
        found = await run_in_threadpool(audit_log.newer, engine, filters, after_seq, limit)
        return JSONResponse({"entries": [e.to_json() for e in found], "next_before": None})
    before = _int_param(request, "before", 0, 0, 2**62) or None
    entries, cursor = await run_in_threadpool(audit_log.page, engine, filters, limit, before)
    return JSONResponse({"entries": [e.to_json() for e in entries], "next_before": cursor})


async def audit_record(request: Request, principal: Principal) -> Response:
    text = request.path_params["seq"]
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidInput(f"record number {text!r} is not a positive whole number")
    engine = await audit_log.settled(request)
    rows = await run_in_threadpool(audit_log.detail, engine, int(text))
    if not rows:
        raise UnknownRecord(f"there is no audit record {text}")
    return JSONResponse({"records": [r.to_json() for r in rows]})


async def audit_verify(request: Request, principal: Principal) -> Response:
    full = request.query_params.get("full", "false")
    if full not in ("true", "false"):
        raise InvalidInput(f"full must be true or false, not {full!r}")
    engine = await audit_log.settled(request)
    if full == "true":
        state_dir = request.app.state.settings.state_dir
        report = await run_in_threadpool(audit_log.verify_all, engine, state_dir)
        return JSONResponse(report)
    status = await run_in_threadpool(audit_log.verify_tail, engine)
    return JSONResponse(status.to_json())


DECISIONS = ("allow", "deny", "held")
KINDS = ("request", "outcome", "admin")
DOORS = ("rest", "mcp", "admin")


def audit_filters(request: Request) -> AuditFilters:
    """Audit filters from query parameters (shared with the log page)."""
    q = request.query_params
    decision = q.get("decision") or None
    kind = q.get("kind") or None
    if decision is not None and decision not in DECISIONS:
        raise InvalidInput(f"decision must be allow, deny or held, not {decision!r}")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    door = q.get("door") or None
    if door is not None and door not in DOORS:
        raise InvalidInput(f"door must be one of {', '.join(DOORS)}, not {door!r}")
    return AuditFilters(
        agent=q.get("agent") or None,
        action=q.get("action") or None,
        decision=decision,
        outcome=q.get("outcome") or None,
        kind=kind,
        door=door,
        since_us=_time_param(request, "since"),
        until_us=_time_param(request, "until"),
    )


def _time_param(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be an ISO 8601 time such as 2025-01-31T09:00 or 2025-01-31T09:00Z, "
            f"not {text!r}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _iso_us(ts_us: int | None) -> str | None:
    if ts_us is None:
        return None
    return datetime.fromtimestamp(ts_us / 1e6, UTC).isoformat(timespec="seconds")
