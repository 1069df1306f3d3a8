"""The /mcp front door: origin, key and session checks, then the SDK's transport.

Every HTTP request is checked here before the SDK reads it:

1. `Origin`, against DNS rebinding: absent (not a browser), a loopback host,
   or one of `mcp_allowed_origins`; anything else is 403.
2. The agent's key (`Authorization: Bearer`, or `X-Api-Key`), by the
   gateway: a bad one is 401 with a `WWW-Authenticate` challenge. A
   `tools/call` refused this way still goes through the gateway, so it is
   audited exactly as the REST door audits a call with a bad key.
3. `Mcp-Session-Id`, when sent: it must have been minted for this agent.

The SDK runs stateless: any replica serves any request. Session ids are
minted by this door on `initialize` and checked by HMAC (`sessions`), so
binding a session to its agent needs no shared state either.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from bollard import arguments
from bollard.agents import Agent
from bollard.audit.keyfile import audit_key
from bollard.calls import Call, Refusal, ToolTarget
from bollard.doorway import ClientGone, agent_key, read_body, refusal_body
from bollard.errors import MalformedBody, Unauthenticated
from bollard.gateway import Gateway
from bollard.mcp import sessions
from bollard.mcp.server import SCOPE_AGENT, SCOPE_KEY, create_server
from bollard.settings import Settings

SESSION_HEADER = "mcp-session-id"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Says what to send, so an OAuth-capable client shows it instead of starting a sign-in
# Bollard does not offer (there is no authorization server, so no resource_metadata).
CHALLENGE = (
    'Bearer realm="bollard", error="invalid_token", error_description="send the agent\'s '
    "Bollard key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'; Bollard keys are "
    'made by its admin (bollard agents create), there is no OAuth sign-in"'
)
# Room for the JSON-RPC envelope around the largest body the REST door accepts.
_ENVELOPE_BYTES = 64 * 1024

log = logging.getLogger(__name__)


def create_door(settings: Settings, gateway: Gateway) -> McpDoor:
    """The door for these settings; replicas sharing the audit key accept each other's sessions."""
    return McpDoor(
        gateway,
        session_secret=sessions.session_secret(audit_key(settings)),
        allowed_origins=settings.mcp_allowed_origins,
        body_max_bytes=settings.body_max_bytes,
    )


def origin_allowed(origin: str | None, allowed: Sequence[str]) -> bool:
    """No Origin (not a browser), a loopback origin, or one listed in the settings."""
    if origin is None:
        return True
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS


class McpDoor:
    """The ASGI app mounted at /mcp."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        session_secret: bytes,
        allowed_origins: Sequence[str] = (),
        body_max_bytes: int = 1_000_000,
    ) -> None:
        self.gateway = gateway
        self._secret = session_secret
        self._origins = tuple(allowed_origins)
        self._limit = body_max_bytes + _ENVELOPE_BYTES
        self.manager = StreamableHTTPSessionManager(
            app=create_server(gateway),
            stateless=True,
            json_response=True,
            security_settings=None,  # Origin is checked here; Host is left to the deployment
            max_request_body_size=self._limit,
        )

    def run(self) -> AbstractAsyncContextManager[None]:
        """The SDK's task group; enter it in the app's lifespan."""
        return self.manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if not origin_allowed(headers.get("origin"), self._origins):
            forbidden = _error(403, "FORBIDDEN_ORIGIN", "this Origin may not use Bollard's MCP")
            await forbidden(scope, receive, send)
            return
        try:
            body, receive = await _buffer(receive, self._limit)
        except ClientGone:
            return  # nobody to answer, and half a call is never carried out
        if body is None:
            too_large = _error(413, "BODY_TOO_LARGE", "the MCP request is too large")
            await too_large(scope, receive, send)
            return
        message, unreadable = _message(body)
        key = agent_key(headers)
        try:
            agent = await self.gateway.authenticate(key)
        except Unauthenticated as exc:
            reply = await self._unauthenticated(exc, key, message)
            await reply(scope, receive, send)
            return
        except Exception as exc:  # the key could not be checked: denied, and recorded
            log.exception("error while checking an MCP request's key")
            reply = await self._undecided(exc, message)
            await reply(scope, receive, send)
            return
        if unreadable is not None:  # refused before any parser is asked again, and recorded
            refusal = await self.gateway.refuse("mcp", unreadable, agent=agent)
            await JSONResponse(refusal_body(refusal), status_code=refusal.status)(
                scope, receive, send
            )
            return
        await self._serve(scope, receive, send, agent, key, message)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        agent: Agent,
        key: str | None,
        message: dict[str, Any] | None,
    ) -> None:
        headers = Headers(scope=scope)
        session_id = headers.get(SESSION_HEADER)
        if session_id is not None and not sessions.belongs_to(self._secret, session_id, agent.id):
            # As the SDK answers an unknown session: nothing says whose it is.
            await _error(404, "SESSION_NOT_FOUND", "Session not found")(scope, receive, send)
            return
        if scope["method"] in ("GET", "DELETE"):
            # Stateless: no stream to open, no session state to end.
            reply = _error(405, "METHOD_NOT_ALLOWED", "this MCP server is stateless: POST only")
            reply.headers["Allow"] = "POST"
            await reply(scope, receive, send)
            return
        scope = {**scope, SCOPE_AGENT: agent, SCOPE_KEY: key}
        if _opens_session(headers, message):
            send = _with_session(send, sessions.mint(self._secret, agent.id, _nonce()))
        await self.manager.handle_request(scope, receive, send)

    async def _unauthenticated(
        self, exc: Unauthenticated, key: str | None, message: dict[str, Any] | None
    ) -> Response:
        call = _tool_call(message)
        result = await self.gateway.handle(Call("mcp", key, call)) if call is not None else None
        if isinstance(result, Refusal):  # a tool call: recorded, as the REST door's 401s are
            body = refusal_body(result)
        else:
            body = {"error": exc.message, "error_code": exc.error_code}
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": CHALLENGE})

    async def _undecided(self, exc: Exception, message: dict[str, Any] | None) -> Response:
        call = _tool_call(message)
        if call is None:  # no action asked for: nothing to record
            return _error(503, "UNAVAILABLE", "Bollard could not check this key now: try again")
        refusal = await self.gateway.refuse("mcp", exc, tool=call.tool)
        return JSONResponse(refusal_body(refusal), status_code=refusal.status)


def _opens_session(headers: Headers, message: dict[str, Any] | None) -> bool:
    modern = headers.get("mcp-protocol-version") in MODERN_PROTOCOL_VERSIONS
    return not modern and message is not None and message.get("method") == "initialize"


def _with_session(send: Send, session_id: str) -> Send:
    async def send_with_session(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] < 400:
            raw = [*message.get("headers", []), (b"mcp-session-id", session_id.encode())]
            message = {**message, "headers": raw}
        await send(message)

    return send_with_session


def _tool_call(message: dict[str, Any] | None) -> ToolTarget | None:
    if message is None or message.get("method") != "tools/call":
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("name"), str):
        return None
    arguments = params.get("arguments")
    return ToolTarget(params["name"], arguments if isinstance(arguments, dict) else {})


def _message(body: bytes) -> tuple[dict[str, Any] | None, MalformedBody | None]:
    """The JSON-RPC message if the body is one, or why no JSON parser should take it."""
    try:
        value = arguments.loads(body) if body else None
    except ValueError:
        return None, None  # not JSON: the SDK answers the parse error
    except MalformedBody as exc:  # too deep, or an integer too long to read
        return None, exc
    return (value if isinstance(value, dict) else None), None


async def _buffer(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole request body (None past `limit`) and a `receive` that replays it."""
    body = await read_body(receive, limit)
    if body is None:
        return None, receive
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, replay


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "error_code": code}, status_code=status)


def _nonce() -> bytes:
    return os.urandom(sessions.NONCE_BYTES)
