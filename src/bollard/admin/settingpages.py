"""The console's agent settings form, on each agent's page: the unknown-parameters switch.

One checkbox posted to its own URL, through `Changes` (so `AdminChanges`, recorded with
the signed-in admin as actor), as `bollard agents set NAME --allow-unknown-parameters`
and `PATCH /admin/api/agents/{name}` do. Saved: POST, redirect, GET with a notice;
refused: the agent's page with the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from bollard.admin.changes import Changes, actor_for
from bollard.admin.problems import AdminError
from bollard.admins import Role

if TYPE_CHECKING:
    from bollard.admin.pages import Handler, Page, Pages

FIELD = "allow_unknown_parameters"


def setting_routes(pages: Pages) -> list[tuple[str, Handler, list[str], Role]]:
    """The settings form's routes and the role each needs, for `page_routes` to guard."""
    forms = SettingPages(pages)
    url = "/agents/{name}/settings"
    return [(url, forms.save, ["POST"], Role.ADMIN), (url, pages.to_agent, ["GET"], Role.VIEWER)]


class SettingPages:
    def __init__(self, pages: Pages) -> None:
        self._pages = pages

    async def save(self, request: Request, page: Page) -> Response:
        assert page.form is not None
        name = request.path_params["name"]
        allowed = page.form.get(FIELD) == "on"
        try:
            agent = await Changes.of(request).allow_unknown(
                name, allowed, actor_for(request, "console")
            )
        except AdminError as exc:
            return await self._pages.agent(request, page, error=exc.message, status=exc.status)
        said = (
            "Unknown parameters now go to Apollo, each recorded as a warning."
            if agent.allow_unknown_parameters
            else "Unknown parameters are now refused (UNKNOWN_PARAMETER)."
        )
        target = f"/admin/agents/{quote(name, safe='')}"
        return self._pages.redirect(
            request, page, target, notice=f"{said} In force from the agent's next call."
        )
