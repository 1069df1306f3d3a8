"""The console's approvals page: held calls waiting for a person, approved or denied here.

`/admin/approvals` lists pending calls, newest first, with the agent, the action,
the arguments in full, the credit quote, the rule and the time left; an approver
approves (with an optional note) or denies (with a reason the agent reads). The
page asks `/admin/approvals/rows` every few seconds for the pending rows and adds
the new ones, so a call held while the page is open appears without a reload.
`/admin/approvals/{id}` is one call, whatever its status (the webhook links here).

Reading needs a viewer; deciding an approver (`bollard.admin.roles`). Decisions go
through the approvals service, which records them with the signed-in admin's name
(`AdminChanges.decide_approval`), and answer POST, redirect, GET (`flash`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bollard.admin import flash
from bollard.admin.changes import Changes, actor_for
from bollard.admin.problems import AdminError, UnknownRecord
from bollard.admins import Role
from bollard.agents import in_words
from bollard.approvals import Approvals, HeldCall
from bollard.audit.chain import canonical

if TYPE_CHECKING:  # pages imports this module: its types only, to avoid a cycle
    from bollard.admin.pages import Handler, Page, Pages

LIST = "/admin/approvals"
POLL_SECONDS = 3


def approval_routes(pages: Pages) -> list[tuple[str, Handler, list[str], Role]]:
    """The approvals routes for `page_routes`, each with the role it needs."""
    view = ApprovalsPage(pages)
    return [
        ("/approvals", view.pending, ["GET"], Role.VIEWER),
        ("/approvals/rows", view.rows, ["GET"], Role.VIEWER),
        ("/approvals/{approval_id}", view.one, ["GET"], Role.VIEWER),
        ("/approvals/{approval_id}/approve", view.approve, ["POST"], Role.APPROVER),
        ("/approvals/{approval_id}/deny", view.deny, ["POST"], Role.APPROVER),
        # A form's URL opened directly (signing in again after the session ended): the call.
        ("/approvals/{approval_id}/approve", view.to_call, ["GET"], Role.VIEWER),
        ("/approvals/{approval_id}/deny", view.to_call, ["GET"], Role.VIEWER),
    ]


class ApprovalsPage:
    """Handlers for the approvals page, rendered with the console's templates."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    async def pending(self, request: Request, page: Page, **extra: Any) -> Response:
        calls = await run_in_threadpool(_service(request).list, "pending")
        return await self._render(request, page, "approvals.html", calls, **extra)

    async def rows(self, request: Request, page: Page) -> Response:
        calls = await run_in_threadpool(_service(request).list, "pending")
        return await self._render(request, page, "approvals_rows.html", calls)

    async def one(self, request: Request, page: Page, **extra: Any) -> Response:
        found = await run_in_threadpool(_service(request).get, request.path_params["approval_id"])
        if found is None:
            error = UnknownRecord(f"there is no held call {request.path_params['approval_id']!r}")
            return self.pages.render(request, "error.html", page.csrf, error=error, status=404)
        return await self._render(request, page, "approvals.html", [found], single=True, **extra)

    async def to_call(self, request: Request, page: Page) -> Response:
        """The held call's page (nothing is decided by a GET)."""
        path = f"{LIST}/{quote(request.path_params['approval_id'], safe='')}"
        return RedirectResponse(path, status_code=303)

    async def approve(self, request: Request, page: Page) -> Response:
        note = _field(page, "note") or None
        return await self._decide(request, page, "approve", note)

    async def deny(self, request: Request, page: Page) -> Response:
        return await self._decide(request, page, "deny", _field(page, "reason"))

    async def _decide(self, request: Request, page: Page, verb: str, text: str | None) -> Response:
        approval_id = request.path_params["approval_id"]
        status = "approved" if verb == "approve" else "denied"
        try:
            held = await Changes.of(request).decide(
                approval_id, status, text, actor_for(request, "console")
            )
        except AdminError as exc:
            shown = {"error": exc.message, "status": exc.status, "typed": {approval_id: text}}
            return await self.pending(request, page, **shown)
        said = "Approved" if verb == "approve" else "Denied"
        notice = f"{said} {held.agent}'s {held.action} ({held.id})."
        if verb == "approve":
            notice += " It is sent to Apollo when the agent asks for its result."
        return flash.redirect_with(self.pages.auth, request, page.session, LIST, notice=notice)

    async def _render(
        self, request: Request, page: Page, name: str, calls: list[HeldCall], **extra: Any
    ) -> Response:
        said = await flash.take(self.pages.auth, request, page.session) if page.form is None else {}
        now = _service(request).now()
        response = self.pages.render(
            request,
            name,
            page.csrf,
            status=int(extra.pop("status", 200)),
            calls=[_view(c, now) for c in calls],
            notice=said.get("notice", ""),
            poll_seconds=POLL_SECONDS,
            **extra,
        )
        if said:
            flash.forget(response)
        return response


def _view(held: HeldCall, now: datetime) -> dict[str, Any]:
    """A held call as the page shows it."""
    status = held.effective_status(now)
    left = held.expires_at - now
    return {
        "id": held.id,
        "path": f"{LIST}/{quote(held.id, safe='')}",
        "agent": held.agent,
        "action": held.action,
        "arguments": _pretty(held),
        "credits": held.credits,
        "reckoning": held.reckoning,
        "rule": held.rule,
        "reason": held.reason,
        "status": status,
        "held_at": held.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "expires_at": held.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        "left": in_words(left) if status == "pending" else "",
        "decided_by": held.decided_by,
        "note": held.note,
    }


def _pretty(held: HeldCall) -> str:
    return json.dumps(json.loads(canonical(dict(held.args))), indent=2, ensure_ascii=False)


def _service(request: Request) -> Approvals:
    service: Approvals = request.app.state.approvals
    return service


def _field(page: Page, name: str) -> str:
    value = page.form.get(name) if page.form is not None else None
    return value.strip() if isinstance(value, str) else ""
