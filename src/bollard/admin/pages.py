"""The console's pages: sign-in, agents, one agent's grants, the audit log, usage.

Pages need a session (else they redirect to the sign-in form) and every POST
carries the session's CSRF token in a hidden field. Changes go through
`Changes`, exactly as the JSON API's do; a refused change re-renders its page
with the message beside the form, with the refusal's HTTP status.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bollard.admin import log as audit_log
from bollard.admin import usage
from bollard.admin.api import audit_filters
from bollard.admin.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AdminAuth,
    client_address,
    login_nonce,
    set_login_cookie,
)
from bollard.admin.changes import Changes
from bollard.admin.grants import difference, matrix
from bollard.admin.problems import AdminError, CsrfRejected, SignInThrottled
from bollard.agents import Agent, utcnow
from bollard.gateway import Gateway


@dataclass(frozen=True, slots=True)
class Page:
    """What a page handler gets: the session's CSRF token and the posted form."""

    csrf: str
    form: FormData | None


Handler = Callable[[Request, Page], Awaitable[Response]]


def page_routes(auth: AdminAuth, templates: Jinja2Templates) -> list[Route]:
    """The console's routes (mounted under /admin)."""
    pages = Pages(auth, templates)
    guarded: list[tuple[str, Handler, list[str]]] = [
        ("/", pages.home, ["GET"]),
        ("/agents", pages.agents, ["GET", "POST"]),
        ("/agents/{name}", pages.agent, ["GET"]),
        ("/agents/{name}/grants", pages.grants, ["POST"]),
        ("/agents/{name}/revoke", pages.revoke, ["POST"]),
        ("/agents/{name}/rotate", pages.rotate, ["POST"]),
        ("/audit", pages.audit, ["GET"]),
        ("/audit/rows", pages.audit_rows, ["GET"]),
        ("/audit/{seq:int}", pages.record, ["GET"]),
        ("/usage", pages.usage, ["GET"]),
        ("/logout", pages.logout, ["POST"]),
    ]
    routes = [Route("/login", pages.login, methods=["GET", "POST"])]
    routes += [Route(p, pages.guard(h), methods=m) for p, h, m in guarded]
    return routes


class Pages:
    def __init__(self, auth: AdminAuth, templates: Jinja2Templates) -> None:
        self.auth = auth
        self.templates = templates

    def guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Require a session; check the CSRF token of every POST."""

        async def endpoint(request: Request) -> Response:
            session_id = await self.auth.session_id(request.cookies.get(SESSION_COOKIE))
            if session_id is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
            csrf = self.auth.csrf_token(session_id)
            form = None
            if request.method == "POST":
                form = await request.form()
                if not self.auth.csrf_matches(session_id, _text(form, CSRF_FIELD)):
                    return self.render(
                        request,
                        "error.html",
                        csrf,
                        error=CsrfRejected(
                            "the form's security token is missing or stale: reload the page "
                            "and submit it again"
                        ),
                        status=403,
                    )
            return await handler(request, Page(csrf, form))

        return endpoint

    def render(
        self, request: Request, name: str, csrf: str, status: int = 200, **context: Any
    ) -> Response:
        context = {"csrf": csrf, "nav": name.split(".")[0], **context}
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    # Sign-in -----------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        nonce = login_nonce(request)
        csrf = self.auth.csrf_token(f"login:{nonce}")
        error, status, retry_after = "", 200, 0
        target = _safe_next(request.query_params.get("next", "/admin/agents"))
        if request.method == "POST":
            form = await request.form()
            target = _safe_next(_text(form, "next") or "/admin/agents")
            if not self.auth.csrf_matches(f"login:{nonce}", _text(form, CSRF_FIELD)):
                error, status = "The sign-in form expired: try again.", 403
            elif (refused := await self._token_refusal(request, _text(form, "token"))) is not None:
                error, status, retry_after = refused
            else:
                _, cookie = await self.auth.new_session()
                redirect = RedirectResponse(target, status_code=303)
                self.auth.set_session_cookie(redirect, request, cookie)
                redirect.delete_cookie(LOGIN_COOKIE, path="/admin")
                return redirect
        response = self.render(request, "login.html", csrf, status=status, error=error, next=target)
        if retry_after:
            response.headers["retry-after"] = str(retry_after)
        set_login_cookie(response, request, nonce)
        return response

    async def _token_refusal(self, request: Request, token: str) -> tuple[str, int, int] | None:
        """None for the right token; else the message, status and seconds to wait."""
        try:
            if await self.auth.token_matches(token.strip(), client_address(request)):
                return None
        except SignInThrottled as exc:
            wait = exc.retry_after
            return f"Too many wrong tokens from your address: try again in {wait} s.", 429, wait
        return "That is not the admin token.", 401, 0

    async def logout(self, request: Request, page: Page) -> Response:
        await self.auth.end_session(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def home(self, request: Request, page: Page) -> Response:
        return RedirectResponse("/admin/agents", status_code=303)

    # Agents ------------------------------------------------------------------

    async def agents(self, request: Request, page: Page) -> Response:
        gateway = _gateway(request)
        created: dict[str, Any] | None = None
        error = ""
        status = 200
        if page.form is not None:
            form = page.form
            try:
                agent, key = await Changes(gateway).create(
                    _text(form, "name").strip(),
                    _split(_text(form, "grants")),
                    _text(form, "note").strip(),
                    _text(form, "expires_in").strip() or None,
                    by="console",
                )
                created = _key_panel(request, agent, key)
                status = 201
            except AdminError as exc:
                error, status = exc.message, exc.status
        listed = await run_in_threadpool(gateway.agents.list)
        used = await run_in_threadpool(audit_log.last_use, request.app.state.engine)
        now = utcnow()
        rows = [
            {"agent": a, "status": a.status(now), "last_used": _when_us(used.get(a.name))}
            for a in listed
        ]
        return self.render(
            request,
            "agents.html",
            page.csrf,
            status=status,
            rows=rows,
            created=created,
            error=error,
            form=dict(page.form or {}) if error else {},
        )

    async def agent(self, request: Request, page: Page, **extra: Any) -> Response:
        gateway = _gateway(request)
        status = int(extra.pop("status", 200))
        try:
            agent = await Changes(gateway).agent(request.path_params["name"])
        except AdminError as exc:
            return self.render(request, "error.html", page.csrf, error=exc, status=exc.status)
        used = await run_in_threadpool(audit_log.last_use, request.app.state.engine)
        return self.render(
            request,
            "agent.html",
            page.csrf,
            status=status,
            agent=agent,
            state=agent.status(utcnow()),
            last_used=_when_us(used.get(agent.name)),
            matrix=matrix(gateway.catalog, agent.grants),
            **extra,
        )

    async def grants(self, request: Request, page: Page) -> Response:
        assert page.form is not None
        changes = Changes(_gateway(request))
        try:
            agent = await changes.agent(request.path_params["name"])
            wanted = set(page.form.getlist("grant")) | set(_split(_text(page.form, "extra")))
            add, remove = difference(agent.grants, {str(w) for w in wanted})
            await changes.regrant(agent.name, add, remove, by="console")
        except AdminError as exc:
            return await self.agent(request, page, error=exc.message, status=exc.status)
        message = _change_message(add, remove)
        return await self.agent(request, page, notice=message)

    async def revoke(self, request: Request, page: Page) -> Response:
        try:
            await Changes(_gateway(request)).revoke(request.path_params["name"], by="console")
        except AdminError as exc:
            return await self.agent(request, page, error=exc.message, status=exc.status)
        return await self.agent(request, page, notice="Revoked: its keys stop working now.")

    async def rotate(self, request: Request, page: Page) -> Response:
        assert page.form is not None
        changes = Changes(_gateway(request))
        name = request.path_params["name"]
        try:
            grace = _text(page.form, "grace").strip() or None
            key = await changes.rotate(name, grace, by="console")
            agent = await changes.agent(name)
        except AdminError as exc:
            return await self.agent(request, page, error=exc.message, status=exc.status)
        return await self.agent(request, page, created=_key_panel(request, agent, key))

    # Audit log ---------------------------------------------------------------

    async def audit(self, request: Request, page: Page) -> Response:
        engine = await audit_log.settled(request)
        try:
            filters = audit_filters(request)
            before = _int(request.query_params.get("before"))
            entries, cursor = await run_in_threadpool(audit_log.page, engine, filters, 50, before)
        except AdminError as exc:
            entries, cursor, error = [], None, exc.message
        else:
            error = ""
        chain: Any = await run_in_threadpool(audit_log.verify_tail, engine)
        full = request.query_params.get("verify") == "full"
        if full:
            state_dir = request.app.state.settings.state_dir
            chain = await run_in_threadpool(audit_log.verify_all, engine, state_dir)
        else:
            chain = chain.to_json()
        skip = ("before", "verify")
        params = {k: v for k, v in request.query_params.items() if v and k not in skip}
        older = f"?{urlencode({**params, 'before': cursor})}" if cursor else ""
        return self.render(
            request,
            "audit.html",
            page.csrf,
            status=422 if error else 200,
            entries=[_entry_view(e) for e in entries],
            params=params,
            error=error,
            chain=chain,
            older=older,
            newest=max((e.seq for e in entries), default=0),
            actions=[a.id for a in _gateway(request).catalog.actions],
        )

    async def audit_rows(self, request: Request, page: Page) -> Response:
        engine = await audit_log.settled(request)
        try:
            filters = audit_filters(request)
        except AdminError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        after = _int(request.query_params.get("after")) or 0
        entries = await run_in_threadpool(audit_log.newer, engine, filters, after)
        return self.render(
            request, "audit_rows.html", page.csrf, entries=[_entry_view(e) for e in entries]
        )

    async def record(self, request: Request, page: Page) -> Response:
        seq = request.path_params["seq"]
        engine = await audit_log.settled(request)
        rows = await run_in_threadpool(audit_log.detail, engine, seq)
        if not rows:
            return self.render(
                request,
                "error.html",
                page.csrf,
                status=404,
                error=AdminError(f"there is no audit record {seq}"),
            )
        entry = audit_log.entries(engine, rows)[0]
        return self.render(
            request,
            "record.html",
            page.csrf,
            entry=_entry_view(entry),
            records=[(r, json.dumps(dict(r.data), indent=2, sort_keys=True)) for r in rows],
        )

    # Usage -------------------------------------------------------------------

    async def usage(self, request: Request, page: Page) -> Response:
        days = _int(request.query_params.get("days")) or 7
        days = days if days in usage.PERIODS else 7
        engine = await audit_log.settled(request)
        window = usage.Window.ending(int(datetime.now(UTC).timestamp() * 1e6), days)
        series = await run_in_threadpool(
            lambda: usage.tally(usage.usage_rows(engine, window), window)
        )
        labels = window.labels()
        charts = [
            {
                "agent": name,
                "series": s,
                "calls": usage.bar_chart(s.calls, labels, f"Calls by {name}"),
                "credits": usage.bar_chart(s.credits, labels, f"Credits spent by {name}"),
            }
            for name, s in series.items()
        ]
        source, windows = await run_in_threadpool(usage.apollo_windows, engine)
        rules = await run_in_threadpool(usage.limit_rules, engine)
        return self.render(
            request,
            "usage.html",
            page.csrf,
            days=days,
            periods=list(usage.PERIODS),
            charts=charts,
            first=labels[0],
            last=labels[-1],
            windows=windows,
            windows_source=source,
            rules=rules,
        )


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.replace("\n", ",").split(",") if s.strip()]


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 19 else None


def _safe_next(target: str) -> str:
    """Only same-site paths under /admin or /reference: never an open redirect."""
    ok = target.startswith(("/admin", "/reference")) and "//" not in target and "\\" not in target
    return target if ok else "/admin/agents"


def _when_us(ts_us: int | None) -> str:
    if ts_us is None:
        return ""
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _change_message(add: list[str], remove: list[str]) -> str:
    if not add and not remove:
        return "No change."
    parts = []
    if add:
        parts.append("granted " + ", ".join(add))
    if remove:
        parts.append("removed " + ", ".join(remove))
    return "Saved: " + "; ".join(parts) + ". In force from the agent's next call."


def _key_panel(request: Request, agent: Agent, key: str) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    body = '{"q_keywords": "vp of sales", "per_page": 5}'
    curl = (
        f"curl -s {base}/api/v1/mixed_people/api_search \\\n"
        f"  -H {shlex.quote('X-Api-Key: ' + key)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n  -d {shlex.quote(body)}"
    )
    mcp = {
        "mcpServers": {
            f"bollard-{agent.name}": {
                "type": "http",
                "url": f"{base}/mcp",
                "headers": {"Authorization": f"Bearer {key}"},
            }
        }
    }
    return {"agent": agent, "key": key, "curl": curl, "mcp": json.dumps(mcp, indent=2)}


def _entry_view(entry: audit_log.Entry) -> dict[str, Any]:
    data = entry.to_json()
    data["when"] = _when_us(data["ts_us"])
    if entry.admin is not None:
        change = dict(entry.admin.data)
        data["summary"] = f"{change.get('change', 'change')} by {change.get('by', 'admin')}"
        data["reason"] = _admin_summary(change)
    return data


def _admin_summary(change: dict[str, Any]) -> str:
    parts = []
    for key in ("added", "removed"):
        if change.get(key):
            parts.append(f"{key} {', '.join(change[key])}")
    if change.get("change") == "create":
        parts.append("grants " + (", ".join(change.get("grants") or []) or "none"))
    return "; ".join(parts)
