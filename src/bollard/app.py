"""`create_app`: builds the gateway and its doors from settings, explicitly."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bollard import rest
from bollard.admin import admin_routes
from bollard.admin.auth import auth_for
from bollard.agents import Agents
from bollard.approvals_webhook import notifier_for
from bollard.audit.keyfile import audit_key
from bollard.audit.writer import writer_for
from bollard.catalog import load_catalog
from bollard.gateway import Gateway
from bollard.limits import Limiter, create_limiter
from bollard.limits.usage import usage_fetch
from bollard.mcp.door import create_door
from bollard.metrics import metrics_route
from bollard.settings import Settings
from bollard.store import open_store
from bollard.upstream import Upstream, UpstreamKeys

REST_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})


def build_gateway(
    settings: Settings,
    engine: Engine,
    *,
    limiter: Limiter,
    clock: Callable[[], float] = time.time,
) -> Gateway:
    """The pipeline and its parts, from settings (not started)."""
    catalog = load_catalog()
    keys = UpstreamKeys.from_values(
        catalog,
        settings.apollo_key.get_secret_value() if settings.apollo_key else None,
        settings.apollo_master_key.get_secret_value() if settings.apollo_master_key else None,
        settings.apollo_key_scopes,
    )
    upstream = Upstream(
        settings.apollo_url,
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
    )
    return Gateway(
        catalog=catalog,
        agents=Agents(engine, catalog),
        audit=writer_for(settings, engine, clock=clock),
        upstream=upstream,
        keys=keys,
        audit_key=audit_key(settings),
        limiter=limiter,
        clock=clock,
    )


class BollardApp(Starlette):
    """Starlette, with a fast lane for the REST door.

    Nearly every request is an agent's call under /api/v1; it goes straight to the
    door, past the router and the exception middleware (the door answers every
    error itself, and uvicorn still turns an escaped exception into a 500).
    Everything else (MCP, the console, health) takes Starlette's usual path.
    """

    def __init__(self, rest_door: rest.RestDoor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rest = rest_door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/api/v1/")
            and scope["method"] in REST_METHODS
            and not scope.get("root_path")
        ):
            await self._rest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    limiter: Limiter | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The Bollard ASGI app: the REST and MCP doors, the console, health and metrics."""
    engine = engine if engine is not None else open_store(settings.database_url)
    own = None  # a limiter of its own, started and closed with the app
    if limiter is None:
        limiter = own = create_limiter(settings, engine, load_catalog(), clock=clock)
    gateway = build_gateway(settings, engine, limiter=limiter, clock=clock)
    mcp_door = create_door(settings, gateway)
    # One for the console and /metrics: wrong tokens count against one allowance.
    admin_auth = auth_for(settings, engine)
    notifier = notifier_for(settings)  # held calls posted to the approvals webhook
    if notifier is not None:
        gateway.approvals.on_held = notifier.notify

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each part is closed, last started first, even if closing another fails: the
        # audit writer above all, which commits what is queued and anchors the tail.
        async with contextlib.AsyncExitStack() as parts:
            parts.callback(gateway.agents.close)
            gateway.rules.check()  # names, in the log, each rule the catalog outgrew
            gateway.audit.start()
            parts.callback(gateway.audit.close)
            await gateway.upstream.start()
            parts.push_async_callback(gateway.upstream.aclose)
            parts.push_async_callback(admin_auth.aclose)
            if notifier is not None:
                notifier.start()
                parts.push_async_callback(notifier.aclose)
            fetch = usage_fetch(settings)
            if own is not None:
                parts.push_async_callback(own.aclose)
                await own.warm()
                if fetch is not None:
                    own.start_usage_sync(fetch, settings.usage_sync_seconds)
            await parts.enter_async_context(mcp_door.run())
            yield

    rest_door = rest.RestDoor(gateway, settings.body_max_bytes)
    routes = [
        # Reached through the router only by a method outside REST_METHODS (405):
        # BollardApp sends every other /api/v1 request straight to the door.
        Route("/api/v1/{rest:path}", rest_door, methods=REST_METHODS),
        Route("/mcp", mcp_door),
        Route(
            "/bollard/v1/approvals/{approval_id}",
            rest.ApprovalStatus(gateway),
            methods=["GET"],
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *admin_routes(settings, admin_auth),
        metrics_route(gateway, None if settings.metrics_public else admin_auth),
    ]
    middleware = []
    if settings.forwarded_allow_ips:  # the client address and scheme a proxy reports
        trusted = list(settings.forwarded_allow_ips)
        middleware.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted))
    app = BollardApp(rest_door, routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.settings = settings
    app.state.engine = engine
    app.state.gateway = gateway
    # Held calls (the console's approvals page decides them).
    app.state.approvals = gateway.approvals
    return app


async def healthz(request: Request) -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the audit log is writable and an upstream is configured."""
    gateway: Gateway = request.app.state.gateway
    checks = {
        "audit": gateway.audit.failure or "ok",
        "database": _database_check(request.app.state.engine),
        "upstream": "ok" if gateway.keys.configured else "no Apollo key configured",
    }
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def _database_check(engine: Engine) -> str:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # readiness reports, it does not raise
        return f"unreachable: {type(exc).__name__}"
    return "ok"
