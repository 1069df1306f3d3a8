"""The HTTP shell: routes from the catalog, keys, rate limits, then a handler.

Per request: parse both encodings into one dict, record the call, check the key
(401), its scope and the master-key rule (403), the endpoint's windows (429),
then run the action's handler and attach the rate-limit headers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bollard.catalog import Action
from bollard.sandbox import (
    accounts,
    contacts,
    deals,
    document,
    enrichment,
    organizations,
    people,
    sequences,
    tasks,
    usage,
)
from bollard.sandbox.args import BadBody, from_body, from_query, merge, parse_body
from bollard.sandbox.exchange import Invocation, Reply, SandboxCall
from bollard.sandbox.team import list_users
from bollard.sandbox.windows import limit_headers

if TYPE_CHECKING:
    from bollard.sandbox import Sandbox

Handler = Callable[[Invocation], Reply]
Endpoint = Callable[[Request], Awaitable[Response]]

INVALID_KEY = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
INVALID_BEARER = "Invalid access credentials."
NOT_AUTHORIZED = (
    "This API key is not authorized to access {scope}. Request an API key from your "
    "administrator that includes this endpoint in its configured scope."
)
DEPRECATED_SEARCH = (
    "This endpoint is deprecated for API callers. Please use the new mixed_people/api_search "
    "endpoint: https://docs.apollo.io/reference/people-api-search."
)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def handlers(sb: Sandbox) -> dict[str, Handler]:
    """Each action id's behaviour, bound to this sandbox's state."""
    team, orgs = sb.team, sb.organizations
    find_person, find_org = sb.person_for_email, sb.organization_id_for_domain
    return {
        "people.search": partial(people.search, sb.people),
        "people.enrich": partial(enrichment.match, sb.enricher),
        "people.bulk_enrich": partial(enrichment.bulk_match, sb.enricher),
        "organizations.search": partial(organizations.search, orgs),
        "organizations.enrich": partial(organizations.enrich, orgs),
        "contacts.create": partial(contacts.create, team, find_person),
        "contacts.update": partial(contacts.update, team, find_person),
        "contacts.search": partial(contacts.search, team),
        "accounts.create": partial(accounts.create, team, find_org),
        "accounts.update": partial(accounts.update, team, find_org),
        "accounts.search": partial(accounts.search, team),
        "sequences.search": partial(sequences.search, team),
        "sequences.add_contacts": partial(sequences.add_contacts, team),
        "tasks.create": partial(tasks.create, team),
        "tasks.search": partial(tasks.search, team),
        "deals.create": partial(deals.create, team),
        "deals.update": partial(deals.update, team),
        "deals.list": partial(deals.search, team),
        "users.list": partial(list_users, team),
        "usage.stats": partial(usage.stats, sb.actions, sb.windows),
        **document.handlers(sb),
    }


def build_app(sb: Sandbox) -> Starlette:
    """The Starlette app: one route per catalog action, health, and a JSON 404."""
    table = handlers(sb)
    missing = {a.id for a in sb.actions} - set(table)
    if missing:
        raise RuntimeError(f"the sandbox has no behaviour for {sorted(missing)}")
    # Literal segments first, so /opportunities/search is not read as the deal "search".
    ordered = sorted(sb.actions, key=lambda a: len(a.path_params))
    routes = [
        Route(a.full_path, _endpoint(sb, a, table[a.id]), methods=[a.method]) for a in ordered
    ]
    routes += [
        Route("/api/v1/auth/health", _health, methods=["GET"]),
        Route("/v1/auth/health", _health, methods=["GET"]),
        Route("/api/v1/mixed_people/search", partial(_deprecated, sb), methods=["POST"]),
        Route("/{rest:path}", partial(_not_found, sb), methods=ALL_METHODS),
    ]
    return Starlette(routes=routes)


async def _health(request: Request) -> Response:
    return JSONResponse({"healthy": True, "is_logged_in": True})


async def _deprecated(sb: Sandbox, request: Request) -> Response:
    """The old people search: a known key gets Apollo's 422 pointing at api_search."""
    try:
        await _record(sb, None, request)
    except BadBody:
        return JSONResponse({"error": "Invalid JSON in request body"}, status_code=400)
    key = request.headers.get("x-api-key")
    if not key or key not in sb.keys:
        return PlainTextResponse(INVALID_KEY, status_code=401)
    return JSONResponse({"error": DEPRECATED_SEARCH}, status_code=422)


async def _not_found(sb: Sandbox, request: Request) -> Response:
    await _record(sb, None, request)
    return JSONResponse({"error": "Not Found", "status": 404}, status_code=404)


def _remember(
    sb: Sandbox, action_id: str | None, request: Request, query: dict[str, Any], body: Any
) -> None:
    if sb.config.record_calls:
        call = SandboxCall(
            action_id,
            request.method,
            request.url.path,
            request.headers.get("x-api-key"),
            query,
            body,
            request.headers.get("content-type"),
        )
        sb.calls.append(call)


async def _record(
    sb: Sandbox, action_id: str | None, request: Request
) -> tuple[dict[str, Any], Any]:
    """Log the call as it arrived; returns (query args, parsed body) or raises BadBody."""
    query = from_query(request.query_params.multi_items())
    raw = await request.body()
    try:
        body: Any = parse_body(raw)
    except BadBody:
        _remember(sb, action_id, request, query, raw.decode("utf-8", "replace"))
        raise
    _remember(sb, action_id, request, query, body)
    return query, body


def _endpoint(sb: Sandbox, action: Action, handler: Handler) -> Endpoint:
    scope_denied = {
        "error": NOT_AUTHORIZED.format(scope=action.key_scope),
        "error_code": "API_INACCESSIBLE",
    }
    # "scoped" mode lifts the seed's master-only marks; the document's own stay.
    needs_master = action.master_key and (
        sb.config.master_mode == "seed" or action.origin == "openapi"
    )
    spelling = sb.config.daily_header_spelling
    windows, rate_limited = sb.windows, sb.config.rate_limits

    async def endpoint(request: Request) -> Response:
        try:
            query, body = await _record(sb, action.id, request)
        except BadBody:
            return JSONResponse({"error": "Invalid JSON in request body"}, status_code=400)
        key = request.headers.get("x-api-key")
        grant = sb.keys.get(key) if key else None
        if grant is None:
            bearer = not key and request.headers.get("authorization", "").startswith("Bearer ")
            return PlainTextResponse(INVALID_BEARER if bearer else INVALID_KEY, status_code=401)
        if not grant.master and (needs_master or action.id not in grant.actions):
            return JSONResponse(scope_denied, status_code=403)
        denial = windows.admit(action.id)
        headers = limit_headers(windows.usage(action.id), spelling) if rate_limited else None
        if denial is not None:
            assert headers is not None
            headers["retry-after"] = str(denial.retry_after)
            return JSONResponse(usage.too_many(action, denial), status_code=429, headers=headers)
        call = Invocation(
            action.id,
            merge(query, from_body(body)),
            dict(request.path_params),
            windows.clock(),
            sb.credits,
        )
        reply = handler(call)
        return _json(reply, headers)

    return endpoint


def _json(reply: Reply, headers: dict[str, str] | None) -> Response:
    # Compact separators: the benchmark pays for every byte encoded.
    content = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        content, status_code=reply.status, headers=headers, media_type="application/json"
    )
