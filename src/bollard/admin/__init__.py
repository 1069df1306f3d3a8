"""The admin console (/admin), its JSON API (/admin/api) and the reference guide (/reference).

    auth       admin tokens (the first admin's and named admins'), session cookies, CSRF
    roles      the one role check (viewer, approver, admin), admin unless a route says
    throttle   wrong admin tokens counted per address (in process, or in Redis)
    api        the JSON API and `openapi` its document
    pages      the console's server-rendered pages (agents, grants, log, usage)
    approvals_page  held calls: list, approve, deny, new ones without a reload
    reference  /reference and /reference/catalog.json, from `catalog.rows`
    changes    admin changes to agents, applied and audited
    grants     the grants matrix (pure)
    log        the console's view of the audit log, and a chain re-walk
    usage      calls and credits per agent, charts (pure) and Apollo's windows
    headers    no-framing and CSP headers on every page

A door like the others: it adapts forms and JSON to the agents repository and
the audit log, and decides nothing the policy does not.
"""

from __future__ import annotations

from pathlib import Path

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bollard.admin.api import api_routes
from bollard.admin.auth import AdminAuth
from bollard.admin.headers import SecurityHeaders
from bollard.admin.pages import page_routes
from bollard.admin.reference import reference_routes
from bollard.settings import Settings

HERE = Path(__file__).parent


def admin_routes(settings: Settings, auth: AdminAuth) -> list[BaseRoute]:
    """Routes for /admin (console, API, static files) and /reference."""
    templates = Jinja2Templates(directory=HERE / "templates")
    console = Mount(
        "/admin",
        routes=[
            Mount("/api", routes=api_routes(auth)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            *page_routes(auth, templates),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )
    reference: list[Route] = reference_routes(auth, templates, public=settings.reference_public)
    return [*reference, console]


__all__ = ["admin_routes"]
