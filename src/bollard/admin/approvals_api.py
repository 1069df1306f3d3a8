"""The admin API's held-call endpoints: list and read approvals, approve or deny
one. Their routes and roles (deciding is `approver`) are in api.py's route table."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bollard.admin.auth import Principal
from bollard.admin.changes import Changes, actor_for
from bollard.admin.requests import gateway_of, read_body


class ApprovalNote(BaseModel):
    """An approval, with an optional note for the record."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=500, description="kept in the record")


class ApprovalDenial(BaseModel):
    """A denial, with the reason the agent reads."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="told to the agent")


async def list_approvals(request: Request, principal: Principal) -> Response:
    status = request.query_params.get("status") or None
    found = await Changes.of(request).approvals(status)
    now = gateway_of(request).now()
    return JSONResponse({"approvals": [h.as_dict(now) for h in found]})


async def get_approval(request: Request, principal: Principal) -> Response:
    held = await Changes.of(request).approval(request.path_params["approval_id"])
    return JSONResponse({"approval": held.as_dict(gateway_of(request).now())})


async def approve_call(request: Request, principal: Principal) -> Response:
    body = await read_body(request, ApprovalNote, empty_ok=True)
    held = await Changes.of(request).decide(
        request.path_params["approval_id"], "approved", body.note, actor_for(request, principal.via)
    )
    return JSONResponse({"approval": held.as_dict(gateway_of(request).now())})


async def deny_call(request: Request, principal: Principal) -> Response:
    body = await read_body(request, ApprovalDenial)
    held = await Changes.of(request).decide(
        request.path_params["approval_id"], "denied", body.reason, actor_for(request, principal.via)
    )
    return JSONResponse({"approval": held.as_dict(gateway_of(request).now())})
