"""The REST front door: Apollo's own paths, parameters and bodies under /api/v1.

An existing Apollo client works by changing only its base URL and key. This
door reads the HTTP request into a `Call`, hands it to the gateway, and writes
the `Result` back; every decision is the gateway's. It is a plain ASGI app:
on the hot path it skips Starlette's request and response objects (measured:
about a tenth of the server's time per call went to them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bollard.calls import Call, Held, Refusal, RestTarget, Result
from bollard.doorway import (
    ClientGone,
    agent_key,
    held_body,
    held_headers,
    key_of,
    read_body,
    refusal_body,
    refusal_headers,
)
from bollard.errors import BodyTooLarge, BollardError
from bollard.gateway import Gateway


async def _body(
    receive: Receive, declared: bytes | None, limit: int
) -> tuple[bytes, BollardError | None]:
    """The body, read no further than `limit` bytes; a larger one becomes a 413.

    Raises ClientGone if the client disconnects first, or sends fewer bytes than its
    Content-Length: half a request is never treated as a whole one.
    """
    expected = int(declared) if declared is not None and declared.isdigit() else None
    if expected is not None and expected > limit:
        return b"", _too_large(limit)
    body = await read_body(receive, limit)
    if body is None:
        return b"", _too_large(limit)
    if expected is not None and expected != len(body):
        raise ClientGone
    return body, None


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"the request body is larger than {limit:,} bytes; send fewer records per call"
    )


class RestDoor:
    """Every /api/v1 request, whatever its method and path."""

    def __init__(self, gateway: Gateway, body_limit: int) -> None:
        self.gateway = gateway
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api_key = authorization = length = None
        # The agent's other headers: the upstream client sends only its allow-list up.
        forward: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            else:
                forward[name.decode("latin-1")] = value.decode("latin-1")
        try:
            body, body_error = await _body(receive, length, self.body_limit)
        except ClientGone:
            return  # nobody to answer, and half a call is never forwarded
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw_path = raw_path.split(b"?", 1)[0]
        raw_query = scope["query_string"]
        query = (
            tuple(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
            if raw_query
            else ()
        )
        target = RestTarget(scope["method"], raw_path, query, body, body_error)
        result = await self.gateway.handle(
            Call("rest", key_of(api_key, authorization), target, forward)
        )
        body, headers = _rendered(result)
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": _raw_headers(headers, len(body)),
            }
        )
        await send({"type": "http.response.body", "body": body})


class ApprovalStatus:
    """GET /bollard/v1/approvals/{id}: where a held call stands, or, once approved,
    Apollo's answer to it (sent then, once), with the agent's own key."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        approval_id = request.path_params["approval_id"]
        result = await self.gateway.approval_status("rest", agent_key(request.headers), approval_id)
        body, headers = _rendered(result)
        response = Response(body, status_code=result.status, headers=dict(headers))
        await response(scope, receive, send)


def _rendered(result: Result) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """Apollo's answer as it came, a held call's 202, or a refusal in Apollo's error shape."""
    if isinstance(result, Held):
        body = json.dumps(held_body(result)).encode()
        return body, (("content-type", "application/json"), *held_headers(result))
    if isinstance(result, Refusal):
        body = json.dumps(refusal_body(result)).encode()
        return body, (("content-type", "application/json"), *refusal_headers(result))
    return result.body, result.headers


def _raw_headers(headers: Iterable[tuple[str, str]], length: int) -> list[tuple[bytes, bytes]]:
    """The headers as sent (bar any length), then the body's length."""
    out = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers
        if name.lower() != "content-length"
    ]
    out.append((b"content-length", str(length).encode("latin-1")))
    return out
