"""The console's policy rules, on each agent's page beside its grants: add, edit, remove.

Each form posts to its own URL and goes through `Changes` (so through `AdminChanges`,
recorded with the signed-in admin as actor), with the same checks as the CLI and the
API. A refused save re-renders the agent's page with the message inside the form that
was posted and what was typed kept; a saved one redirects (POST, redirect, GET) with a
notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bollard.admin.changes import Changes, actor_for
from bollard.admin.problems import AdminError, InvalidInput
from bollard.admins import Role
from bollard.approvals import DEFAULT_EXPIRY
from bollard.errors import ConfigError
from bollard.policy import EFFECTS, HIDEABLE, Rule, duration_text
from bollard.policy_file import rule_expiry
from bollard.rule_book import load_rules

if TYPE_CHECKING:
    from bollard.admin.pages import Handler, Page, Pages

FIELDS = ("selector", "effect", "when", "fields", "expires_after", "reason", "shadow")


def rule_routes(pages: Pages) -> list[tuple[str, Handler, list[str], Role]]:
    """The rule forms' routes and the role each needs, for `page_routes` to guard."""
    forms = RulePages(pages)
    base = "/agents/{name}/rules"
    admin, viewer = Role.ADMIN, Role.VIEWER
    return [
        (base, forms.add, ["POST"], admin),
        (base + "/{rule_id:int}", forms.edit, ["POST"], admin),
        (base + "/{rule_id:int}/remove", forms.remove, ["POST"], admin),
        (base, forms.to_agent, ["GET"], viewer),
        (base + "/{rule_id:int}", forms.to_agent, ["GET"], viewer),
        (base + "/{rule_id:int}/remove", forms.to_agent, ["GET"], viewer),
    ]


async def rule_context(request: Request, name: str) -> dict[str, Any]:
    """What the agent page's rules section shows."""
    engine: Engine = request.app.state.engine

    def read() -> list[Rule]:
        with engine.connect() as conn:
            return load_rules(conn, name)

    rules = await run_in_threadpool(read)
    return {
        "policy_rules": [r for r in rules if r.agent == name],
        "team_rules": [r for r in rules if r.agent is None],
        "effects": EFFECTS,
        "hideable": HIDEABLE,
        "expiries": {r.id: _expiry_text(r) for r in rules if r.effect == "approve"},
        "default_expiry": f"{int(DEFAULT_EXPIRY.total_seconds()) // 3600}h",  # 24h
    }


def _expiry_text(rule: Rule) -> str:
    """How long the approve rule holds a call, as the form takes it back: `8h`; "" for
    the default."""
    return duration_text(rule.hold_seconds) if rule.hold_seconds is not None else ""


class RulePages:
    def __init__(self, pages: Pages) -> None:
        self._pages = pages

    async def add(self, request: Request, page: Page) -> Response:
        name = request.path_params["name"]
        form = _posted(page)
        try:
            rule = await Changes.of(request).add_rule(
                _rule(0, name, form), actor_for(request, "console")
            )
        except AdminError as exc:
            return await self._refused(request, page, exc, {**form, "id": "new"})
        return self._done(request, page, name, f"Added rule #{rule.id}: {_words(rule)}.")

    async def edit(self, request: Request, page: Page) -> Response:
        name, rule_id = request.path_params["name"], request.path_params["rule_id"]
        form = _posted(page)
        try:
            rule = await Changes.of(request).edit_rule(
                _rule(rule_id, name, form), actor_for(request, "console")
            )
        except AdminError as exc:
            return await self._refused(request, page, exc, {**form, "id": str(rule_id)})
        return self._done(request, page, name, f"Saved rule #{rule.id}: {_words(rule)}.")

    async def remove(self, request: Request, page: Page) -> Response:
        name, rule_id = request.path_params["name"], request.path_params["rule_id"]
        try:
            gone = await Changes.of(request).remove_rule(
                name, rule_id, actor_for(request, "console")
            )
        except AdminError as exc:
            return await self._refused(request, page, exc, {})
        return self._done(request, page, name, f"Removed rule #{gone.id}: {_words(gone)}.")

    async def to_agent(self, request: Request, page: Page) -> Response:
        return await self._pages.to_agent(request, page)

    async def _refused(
        self, request: Request, page: Page, exc: AdminError, form: dict[str, Any]
    ) -> Response:
        if not form:  # no form to show it in: at the top of the page
            return await self._pages.agent(request, page, error=exc.message, status=exc.status)
        return await self._pages.agent(
            request, page, rule_error=exc.message, rule_form=form, status=exc.status
        )

    def _done(self, request: Request, page: Page, name: str, notice: str) -> Response:
        target = f"/admin/agents/{_quote(name)}"
        return self._pages.redirect(request, page, target, notice=notice + _in_force())


def _posted(page: Page) -> dict[str, Any]:
    assert page.form is not None
    return {k: _text(page.form, k) for k in FIELDS}


def _rule(rule_id: int, agent: str, form: dict[str, Any]) -> Rule:
    when = form["when"].strip() or None
    fields = tuple(f.strip() for f in form["fields"].replace("\n", ",").split(",") if f.strip())
    return Rule(
        rule_id,
        agent,
        form["selector"].strip(),
        form["effect"],
        form["reason"].strip(),
        when,
        fields,
        bool(form["shadow"]),
        _hold(form["expires_after"].strip() or None, form["effect"]),
    )


def _hold(text: str | None, effect: str) -> int | None:
    try:
        return rule_expiry(text, effect, "Expires after")
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _words(rule: Rule) -> str:
    return rule.describe().split(" ", 2)[2]


def _in_force() -> str:
    return " In force from the agent's next call."


def _quote(name: str) -> str:
    return quote(name, safe="")
