"""The REST front door: Apollo's own paths, parameters and bodies under /api/v1.

An existing Apollo client works by changing only its base URL and key. This
door reads the HTTP request into a `Call`, hands it to the gateway, and writes
the `Result` back; every decision is the gateway's.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from bollard.errors import BodyTooLarge, BollardError
from bollard.gateway import Call, Gateway, RestTarget, Result
from bollard.upstream import FORWARD_REQUEST_HEADERS


def agent_key(headers: Headers) -> str | None:
    """The agent's key from `X-Api-Key`, or from `Authorization: Bearer`."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def read_body(request: Request, limit: int) -> tuple[bytes, BollardError | None]:
    """The body, read no further than `limit` bytes; a larger one becomes a 413."""
    too_large = BodyTooLarge(
        f"the request body is larger than {limit:,} bytes; send fewer records per call"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return b"", too_large
        chunks.append(chunk)
    return b"".join(chunks), None


def render(result: Result) -> Response:
    """A gateway result as an HTTP response, headers kept as Apollo sent them."""
    response = Response(result.body, status_code=result.status)
    response.raw_headers.extend(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in result.headers
    )
    return response


async def endpoint(request: Request) -> Response:
    """Every /api/v1 request, whatever its method and path."""
    gateway: Gateway = request.app.state.gateway
    body, body_error = await read_body(request, request.app.state.settings.body_max_bytes)
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    raw_path = raw_path.split(b"?", 1)[0]
    query = tuple(
        parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    )
    target = RestTarget(request.method, raw_path, query, body, body_error)
    headers = {k: v for k, v in request.headers.items() if k in FORWARD_REQUEST_HEADERS}
    result = await gateway.handle(Call("rest", agent_key(request.headers), target, headers))
    return render(result)
