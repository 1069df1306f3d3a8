"""/reference: the Apollo reference guide as a page, and /reference/catalog.json.

Both are built from `bollard.catalog.rows`, the same rows `bollard catalog`
prints, so the terminal, the page and the JSON never disagree. Filtering is a
plain GET form (it works without JavaScript); each endpoint is a <details>
element whose body holds everything the guide knows about it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bollard.admin.auth import AdminAuth
from bollard.admin.headers import secure
from bollard.admin.problems import SignInThrottled, problem
from bollard.catalog import METHODS, ORIGINS, TAGS, Catalog, load_catalog
from bollard.catalog.rows import (
    action_detail,
    action_row,
    disagreements_list,
    filter_actions,
    guide_dict,
)

PERMISSIONS = {"master": True, "scoped": False}


def catalog_json(catalog: Catalog) -> dict[str, Any]:
    """The whole guide as JSON: general sections, then every action in detail."""
    return {
        "guide": guide_dict(catalog.guide),
        "disagreements": disagreements_list(catalog.actions),
        "actions": [action_detail(a) for a in catalog.actions],
    }


def reference_filters(params: dict[str, str], catalog: Catalog) -> dict[str, Any]:
    """The filters a query string asks for; unknown values are ignored, not errors."""
    method = params.get("method", "").upper()
    access = params.get("access", "")
    resource = params.get("resource", "")
    return {
        "method": method if method in METHODS else None,
        "access": access if access in ("read", "write") else None,
        "master_key": PERMISSIONS.get(params.get("permission", "")),
        "resource": resource if resource in catalog.resources else None,
        "search": params.get("q", "").strip()[:200] or None,
        "tag": params.get("tag") if params.get("tag") in TAGS else None,
        "origin": params.get("from") if params.get("from") in ORIGINS else None,
    }


def reference_routes(auth: AdminAuth, templates: Jinja2Templates, *, public: bool) -> list[Route]:
    """The page and its JSON; behind sign-in when `public` is false."""

    async def page(request: Request) -> Response:
        try:
            signed = await auth.principal(request) is not None
        except SignInThrottled as exc:
            return problem(exc)
        if not (public or signed):
            return RedirectResponse(f"/admin/login?next={quote('/reference')}", status_code=303)
        catalog = load_catalog()
        params = dict(request.query_params)
        filters = reference_filters(params, catalog)
        shown = filter_actions(catalog.actions, **filters)
        guide = guide_dict(catalog.guide)
        areas = [
            {**area, "actions": [action_detail(a) for a in shown if a.resource == area["resource"]]}
            for area in guide["areas"]
        ]
        context = {
            "guide": guide,
            "disagreements": disagreements_list(catalog.actions),
            "areas": [a for a in areas if a["actions"]],
            "shown": len(shown),
            "total": len(catalog.actions),
            "params": params,
            "methods": sorted({a.method for a in catalog.actions}),
            "resources": catalog.resources,
            "tags": TAGS,
            "signed_in": signed,
        }
        response = templates.TemplateResponse(request, "reference.html", context)
        secure(response.headers, private=not public)
        return response

    async def as_json(request: Request) -> Response:
        try:
            signed = await auth.principal(request) is not None
        except SignInThrottled as exc:
            return problem(exc)
        if not (public or signed):
            return JSONResponse(
                {"error": "sign in to read the catalog", "error_code": "ADMIN_UNAUTHENTICATED"},
                status_code=401,
            )
        catalog = load_catalog()
        params = dict(request.query_params)
        if params:
            rows = [
                action_row(a)
                for a in filter_actions(catalog.actions, **reference_filters(params, catalog))
            ]
            response = JSONResponse({"actions": rows})
        else:
            response = JSONResponse(catalog_json(catalog))
        secure(response.headers, private=not public)
        return response

    return [
        Route("/reference", page, methods=["GET"], name="reference"),
        Route("/reference/catalog.json", as_json, methods=["GET"], name="reference_json"),
    ]
