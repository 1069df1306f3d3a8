"""The console's pages: sign-in, agents, one agent's grants, the audit log, usage.

Pages need a session (else they redirect to the sign-in form) and every POST
carries the session's CSRF token in a hidden field. Changes go through
`Changes`, exactly as the JSON API's do; a refused change re-renders its page
with the message beside the form, with the refusal's HTTP status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bollard.admin import charts, flash, limitform, logview, roles, rulepages, settingpages, usage
from bollard.admin import log as audit_log
from bollard.admin.api import audit_filters
from bollard.admin.approvals_page import approval_routes
from bollard.admin.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AdminAuth,
    client_address,
    login_nonce,
    set_login_cookie,
)
from bollard.admin.changes import Changes, actor_for
from bollard.admin.grants import difference, matrix
from bollard.admin.keypanel import key_panel
from bollard.admin.problems import (
    AdminError,
    CsrfRejected,
    InvalidInput,
    RoleRefused,
    SignInThrottled,
)
from bollard.admin.usage import Series, Window
from bollard.admins import Admin, Role
from bollard.agents import Agent, utcnow
from bollard.catalog import Catalog
from bollard.errors import ConfigError
from bollard.gateway import Gateway
from bollard.limits.rule_store import rule_dict
from bollard.limits.rules import ALL_ACTIONS
from bollard.policy import parse_selector


@dataclass(frozen=True, slots=True)
class Page:
    """What a page handler gets: the session, its CSRF token and the posted form."""

    session: str
    csrf: str
    form: FormData | None


Handler = Callable[[Request, Page], Awaitable[Response]]


def page_routes(auth: AdminAuth, templates: Jinja2Templates) -> list[Route]:
    """The console's routes (mounted under /admin)."""
    pages = Pages(auth, templates)
    viewer, admin = Role.VIEWER, Role.ADMIN
    guarded: list[tuple[str, Handler, list[str], Role]] = [
        ("/", pages.home, ["GET"], viewer),
        ("/agents", pages.agents, ["GET"], viewer),
        ("/agents", pages.agents, ["POST"], admin),
        ("/agents/{name}", pages.agent, ["GET"], viewer),
        ("/agents/{name}/grants", pages.grants, ["POST"], admin),
        ("/agents/{name}/revoke", pages.revoke, ["POST"], admin),
        ("/agents/{name}/rotate", pages.rotate, ["POST"], admin),
        ("/agents/{name}/limits", pages.limits, ["POST"], admin),
        ("/audit", pages.audit, ["GET"], viewer),
        ("/audit/rows", pages.audit_rows, ["GET"], viewer),
        ("/audit/{seq:int}", pages.record, ["GET"], viewer),
        ("/usage", pages.usage, ["GET"], viewer),
        ("/logout", pages.logout, ["POST"], viewer),
        *rulepages.rule_routes(pages),
        *settingpages.setting_routes(pages),
    ]
    # A form's URL opened directly answers with the page the form is on, not a bare 405.
    for form_url in ("grants", "revoke", "rotate", "limits"):
        guarded.append((f"/agents/{{name}}/{form_url}", pages.to_agent, ["GET"], viewer))
    guarded.append(("/logout", pages.home, ["GET"], viewer))
    guarded += approval_routes(pages)
    routes = [Route("/login", pages.login, methods=["GET", "POST"])]
    routes += [Route(p, pages.guard(h, r), methods=m) for p, h, m, r in guarded]
    for path, _, methods, role in guarded:  # which forms each page shows whom
        pages.roles.add(path, methods, role)
    return routes


class Pages:
    def __init__(self, auth: AdminAuth, templates: Jinja2Templates) -> None:
        self.auth = auth
        self.templates = templates
        self.roles = roles.RouteRoles("/admin")

    def guard(
        self, handler: Handler, role: Role = roles.DEFAULT
    ) -> Callable[[Request], Awaitable[Response]]:
        """Require a session whose admin has `role` (admin unless told); check the CSRF
        token of every POST."""

        async def endpoint(request: Request) -> Response:
            signed = await self.auth.session(request.cookies.get(SESSION_COOKIE))
            if signed is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
            session_id = signed.session_id
            request.state.admin = signed.admin
            csrf = self.auth.csrf_token(session_id)
            try:
                roles.check(signed.admin, role)
            except RoleRefused as exc:
                return self.render(request, "error.html", csrf, error=exc, status=exc.status)
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
            return await handler(request, Page(session_id, csrf, form))

        return endpoint

    def render(
        self, request: Request, name: str, csrf: str, status: int = 200, **context: Any
    ) -> Response:
        me = getattr(request.state, "admin", None)  # who is signed in, on every page
        may = partial(self.roles.may, me)  # may(url): whether `me` may post a form to url
        context = {"csrf": csrf, "nav": name.split(".")[0], "me": me, "may": may, **context}
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
            elif isinstance(found := await self._signs_in(request, _text(form, "token")), tuple):
                error, status, retry_after = found
            else:
                _, cookie = await self.auth.new_session(found.name)
                redirect = RedirectResponse(target, status_code=303)
                self.auth.set_session_cookie(redirect, request, cookie)
                redirect.delete_cookie(LOGIN_COOKIE, path="/admin")
                return redirect
        response = self.render(request, "login.html", csrf, status=status, error=error, next=target)
        if retry_after:
            response.headers["retry-after"] = str(retry_after)
        set_login_cookie(response, request, nonce)
        return response

    async def _signs_in(self, request: Request, token: str) -> Admin | tuple[str, int, int]:
        """The admin a token is; else the message, status and seconds to wait."""
        try:
            admin = await self.auth.identify(token.strip(), client_address(request))
        except SignInThrottled as exc:
            wait = exc.retry_after
            return f"Too many wrong tokens from your address: try again in {wait} s.", 429, wait
        return admin if admin is not None else ("That is not an admin token.", 401, 0)

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
        error, status = "", 200
        if page.form is not None:
            form = page.form
            try:
                agent, key = await Changes.of(request).create(
                    _text(form, "name").strip(),
                    _split(_text(form, "grants")),
                    _text(form, "note").strip(),
                    _text(form, "expires_in").strip() or None,
                    by=actor_for(request, "console"),
                )
            except AdminError as exc:
                error, status = exc.message, exc.status
            else:
                notice = f"Created {agent.name}."
                return self.redirect(request, page, _agent_path(agent.name), notice=notice, key=key)
        listed = await run_in_threadpool(gateway.agents.list)
        used = await run_in_threadpool(audit_log.last_use, request.app.state.engine)
        now = utcnow()
        rows = [
            {"agent": a, "status": a.status(now), "last_used": logview.when_us(used.get(a.name))}
            for a in listed
        ]
        return self.render(
            request,
            "agents.html",
            page.csrf,
            status=status,
            rows=rows,
            error=error,
            form=dict(page.form or {}) if error else {},
        )

    async def agent(self, request: Request, page: Page, **extra: Any) -> Response:
        gateway = _gateway(request)
        status = int(extra.pop("status", 200))
        try:
            agent = await Changes.of(request).agent(request.path_params["name"])
        except AdminError as exc:
            return self.render(request, "error.html", page.csrf, error=exc, status=exc.status)
        said = await flash.take(self.auth, request, page.session) if page.form is None else {}
        engine = request.app.state.engine
        used = await run_in_threadpool(audit_log.last_use, engine)
        ticked = extra.pop("ticked", None)
        shown = matrix(gateway.catalog, agent.grants if ticked is None else ticked)
        key = said.get("key")
        response = self.render(
            request,
            "agent.html",
            page.csrf,
            status=status,
            agent=agent,
            state=agent.status(utcnow()),
            last_used=logview.when_us(used.get(agent.name)),
            matrix=shown,
            notice=said.get("notice", ""),
            created=_panel(request, agent, key) if isinstance(key, str) else None,
            who=agent.name,
            back=_agent_path(agent.name),
            rules=await self._limits_of(request, agent.name),
            limits=await _windows_of(gateway, agent.name),
            actions=[a.id for a in gateway.catalog.actions],
            fields=limitform.FIELDS,
            **await rulepages.rule_context(request, agent.name),
            **extra,
        )
        if said:
            flash.forget(response)
        return response

    async def grants(self, request: Request, page: Page) -> Response:
        assert page.form is not None
        changes = Changes.of(request)
        ticked = [str(g) for g in page.form.getlist("grant")]
        typed = _text(page.form, "extra")
        try:
            agent = await changes.agent(request.path_params["name"])
            if agent.revoked_at is not None:
                raise InvalidInput(
                    f"agent {agent.name!r} is revoked: its grants can no longer change"
                )
            add, remove = difference(agent.grants, set(ticked) | set(_split(typed)))
            await changes.regrant(agent.name, add, remove, by=actor_for(request, "console"))
        except AdminError as exc:
            # Keep what the admin ticked and typed, so fixing one selector loses nothing.
            return await self.agent(
                request,
                page,
                error=exc.message,
                status=exc.status,
                ticked=_known(ticked, request),
                extra=typed,
            )
        return self.redirect(
            request, page, _agent_path(agent.name), notice=_change_message(add, remove)
        )

    async def revoke(self, request: Request, page: Page) -> Response:
        name = request.path_params["name"]
        try:
            done = await Changes.of(request).revoke(name, by=actor_for(request, "console"))
        except AdminError as exc:
            return await self.agent(request, page, error=exc.message, status=exc.status)
        said = "It was already revoked: no change." if done.already else None
        return self.redirect(
            request, page, _agent_path(name), notice=said or "Revoked: its keys stop working now."
        )

    async def rotate(self, request: Request, page: Page) -> Response:
        assert page.form is not None
        changes = Changes.of(request)
        name = request.path_params["name"]
        grace = _text(page.form, "grace").strip() or None
        try:
            done = await changes.rotate(name, grace, by=actor_for(request, "console"))
        except AdminError as exc:
            return await self.agent(
                request, page, error=exc.message, status=exc.status, grace=grace
            )
        old = f"The old key keeps working for {grace}." if grace else "The old key stopped working."
        return self.redirect(
            request, page, _agent_path(name), notice=f"New key made. {old}", key=done.key
        )

    async def limits(self, request: Request, page: Page) -> Response:
        """Set (or, with `clear`, remove) an agent's limits; from its page or the usage page."""
        assert page.form is not None
        gateway = _gateway(request)
        name = request.path_params["name"]
        back = _back(_text(page.form, "back"), _agent_path(name))
        form = {k: v for k, v in page.form.items() if isinstance(v, str)}
        try:
            if "clear" in form:
                action = limitform.action_of(form.get("action", ""), gateway.catalog)
                scope = None if action == ALL_ACTIONS else action
                cleared = await Changes.of(request).clear_limits(
                    name, scope, by=actor_for(request, "console")
                )
                notice = (
                    f"Cleared {len(cleared)} limit rule(s) for {name} ({_scope_words(action)})."
                )
            else:
                rule = limitform.rule_from_form(name, form, gateway.catalog)
                stored = await Changes.of(request).set_limits(
                    rule, by=actor_for(request, "console")
                )
                said = limitform.describe(rule_dict(stored))
                notice = f"Limits for {name} ({_scope_words(stored.action)}): {said}."
        except AdminError as exc:
            if back.startswith("/admin/usage"):
                return await self.usage(
                    request, page, error=exc.message, status=exc.status, form=form
                )
            return await self.agent(
                request, page, error=exc.message, status=exc.status, limit_form=form
            )
        return self.redirect(request, page, back, notice=notice)

    async def _limits_of(self, request: Request, name: str) -> list[dict[str, Any]]:
        rules = await run_in_threadpool(usage.limit_rules, request.app.state.engine)
        return [
            {**r, "scope": _scope_words(r["action"]), "words": limitform.describe(r)}
            for r in rules
            if r["agent"] == name
        ]

    def redirect(self, request: Request, page: Page, target: str, **said: Any) -> Response:
        """POST, redirect, GET: the page after a change is a GET a reload cannot repeat."""
        return flash.redirect_with(self.auth, request, page.session, target, **said)

    async def to_agent(self, request: Request, page: Page) -> Response:
        """A form's URL opened directly (a bookmark, a reload after sign-in): its page."""
        return RedirectResponse(_agent_path(request.path_params["name"]), status_code=303)

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
        counts = {} if error else await run_in_threadpool(audit_log.facets, engine, filters)
        return self.render(
            request,
            "audit.html",
            page.csrf,
            status=422 if error else 200,
            entries=[logview.entry_view(e) for e in entries],
            params=params,
            error=error,
            chain=chain,
            older=older,
            newest=max((e.seq for e in entries), default=0),
            actions=[a.id for a in _gateway(request).catalog.actions],
            facets=logview.facet_links(counts, params),
            choices=logview.AUDIT_CHOICES,
            ranges=logview.time_ranges(params),
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
            request, "audit_rows.html", page.csrf, entries=[logview.entry_view(e) for e in entries]
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
            entry=logview.entry_view(entry),
            records=[(r, json.dumps(dict(r.data), indent=2, sort_keys=True)) for r in rows],
        )

    # Usage -------------------------------------------------------------------

    async def usage(self, request: Request, page: Page, **extra: Any) -> Response:
        days = _int(request.query_params.get("days")) or 7
        days = days if days in usage.PERIODS else 7
        engine = await audit_log.settled(request)
        gateway = _gateway(request)
        now_us = int(datetime.now(UTC).timestamp() * 1e6)
        window = usage.Window.ending(now_us, days)
        series = await run_in_threadpool(
            lambda: usage.tally(usage.usage_rows(engine, window), window)
        )
        listed = await run_in_threadpool(gateway.agents.list)
        rules = await run_in_threadpool(usage.limit_rules, engine)
        names = sorted({a.name for a in listed if a.revoked_at is None} | set(series))
        cards = [
            await self._usage_card(gateway, name, series.get(name), window, rules) for name in names
        ]
        source, windows = await run_in_threadpool(usage.windows_in_words, engine, now_us / 1e6)
        said = await flash.take(self.auth, request, page.session) if page.form is None else {}
        periods = [
            {"days": d, "text": _period_text(d), "dates": usage.Window.ending(now_us, d).dates()}
            for d in usage.PERIODS
        ]
        response = self.render(
            request,
            "usage.html",
            page.csrf,
            status=int(extra.pop("status", 200)),
            days=days,
            periods=periods,
            dates=window.dates(),
            cards=cards,
            windows=windows,
            windows_source=source,
            notice=said.get("notice", ""),
            actions=[a.id for a in gateway.catalog.actions],
            fields=limitform.FIELDS,
            **extra,
        )
        if said:
            flash.forget(response)
        return response

    async def _usage_card(
        self,
        gateway: Gateway,
        name: str,
        series: Series | None,
        window: Window,
        rules: list[dict[str, Any]],
    ) -> dict[str, Any]:
        labels = window.labels()
        s = series or Series([0] * window.n, [0] * window.n, [0] * window.n)
        own = [r for r in rules if r["agent"] == name]
        daily = next((r.get("credits_per_day") for r in own if r["action"] == ALL_ACTIONS), None)
        x_title = "hour (UTC)" if window.hourly else "day (UTC)"
        budget = None if window.hourly else daily
        limits = await _windows_of(gateway, name)
        return {
            "agent": name,
            "series": s,
            "calls": charts.bar_chart(
                s.calls, labels, title=f"Calls by {name}", unit="calls", x_title=x_title
            ),
            "credits": charts.bar_chart(
                s.credits,
                labels,
                title=f"Credits spent by {name}",
                unit="credits",
                x_title=x_title,
                budget=budget,
                budget_text=f"budget {daily:,} a day" if budget is not None else "",
            ),
            "daily_budget": daily,
            "rules": [
                {**r, "scope": _scope_words(r["action"]), "words": limitform.describe(r)}
                for r in own
            ],
            "limits": limits,
        }


async def _windows_of(gateway: Gateway, name: str) -> list[dict[str, str]]:
    """The agent's windows and budgets now, from this process's limiter."""
    return await usage.agent_limits(gateway.limiter, name, time.time())


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


def _change_message(add: list[str], remove: list[str]) -> str:
    if not add and not remove:
        return "No change."
    parts = []
    if add:
        parts.append("granted " + ", ".join(add))
    if remove:
        parts.append("removed " + ", ".join(remove))
    return "Saved: " + "; ".join(parts) + ". In force from the agent's next call."


def _panel(request: Request, agent: Agent, key: str) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return key_panel(base, agent, key, _gateway(request).visible_actions(agent))


def _agent_path(name: str) -> str:
    return f"/admin/agents/{quote(name, safe='')}"


def _known(ticked: list[str], request: Request) -> list[str]:
    """The ticked boxes that name a selector (a forged value would break the matrix)."""
    catalog = _gateway(request).catalog
    return [t for t in ticked if _is_selector(t, catalog)]


def _is_selector(text: str, catalog: Catalog) -> bool:
    try:
        parse_selector(text, catalog)
    except ConfigError:
        return False
    return True


def _back(target: str, default: str) -> str:
    return target if target.startswith(("/admin/usage", "/admin/agents/")) else default


def _period_text(days: int) -> str:
    return "Last 24 hours, by hour" if days == 1 else f"Last {days} days, by day"


def _scope_words(action: str) -> str:
    return "every action" if action == ALL_ACTIONS else action
