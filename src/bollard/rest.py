"""The REST front door: Apollo's own paths, parameters and bodies under /api/v1.

An existing Apollo client works by changing only its base URL and key. This
door reads the HTTP request into a `Call`, hands it to the gateway, and writes
the `Result` back; every decision is the gateway's. It is a plain ASGI app:
on the hot path it skips Starlette's request and response objects (measured:
about a tenth of the server's time per call went to them).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from bollard.errors import BodyTooLarge, BollardError
from bollard.gateway import Call, Gateway, RestTarget, Result
from bollard.upstream import FORWARD_REQUEST_HEADERS

_FORWARD = frozenset(h.encode("latin-1") for h in FORWARD_REQUEST_HEADERS)


def agent_key(headers: Headers) -> str | None:
    """The agent's key from `X-Api-Key`, or from `Authorization: Bearer`."""
    return _key(headers.get("x-api-key"), headers.get("authorization"))


def _key(api_key: str | None, authorization: str | None) -> str | None:
    if api_key and api_key.strip():
        return api_key.strip()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class ClientGone(Exception):
    """The client disconnected before its whole request arrived."""


async def read_body(
    receive: Receive, declared: bytes | None, limit: int
) -> tuple[bytes, BollardError | None]:
    """The body, read no further than `limit` bytes; a larger one becomes a 413.

    Raises ClientGone if the client disconnects first, or sends fewer bytes than its
    Content-Length: half a request is never treated as a whole one.
    """
    too_large = BodyTooLarge(
        f"the request body is larger than {limit:,} bytes; send fewer records per call"
    )
    expected = int(declared) if declared is not None and declared.isdigit() else None
    if expected is not None and expected > limit:
        return b"", too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if expected is not None and expected != size:
        raise ClientGone
    return b"".join(chunks), None


class RestDoor:
    """Every /api/v1 request, whatever its method and path."""

    def __init__(self, gateway: Gateway, body_limit: int) -> None:
        self.gateway = gateway
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api_key = authorization = length = None
        forward: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name in _FORWARD:
                forward[name.decode("latin-1")] = value.decode("latin-1")
        try:
            body, body_error = await read_body(receive, length, self.body_limit)
        except ClientGone:
            return  # nobody to answer, and half a call is never forwarded
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw_path = raw_path.split(b"?", 1)[0]
        query = tuple(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        target = RestTarget(scope["method"], raw_path, query, body, body_error)
        result = await self.gateway.handle(
            Call("rest", _key(api_key, authorization), target, forward)
        )
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": _headers(result, len(result.body)),
            }
        )
        await send({"type": "http.response.body", "body": result.body})


def _headers(result: Result, length: int) -> Iterable[tuple[bytes, bytes]]:
    """Apollo's headers as Apollo sent them (bar its length), then the body's length."""
    out = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in result.headers
        if name.lower() != "content-length"
    ]
    out.append((b"content-length", str(length).encode("latin-1")))
    return out
