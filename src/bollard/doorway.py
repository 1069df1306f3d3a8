"""What the front doors share: reading a request's key and body, and a refusal's body.

Both doors read the agent's key the same way, read a body no further than a limit
(never treating half a request as a whole one), and answer a refusal with the same
JSON: Apollo's error shape (`error`, `error_code`, and `message` on a 429, as Apollo
sends it), plus what Bollard knows under `bollard`.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive

from bollard.errors import RateLimited, UnknownParameter
from bollard.gateway import Refusal


class ClientGone(Exception):
    """The client disconnected before its whole request arrived."""


def agent_key(headers: Headers) -> str | None:
    """The agent's key from `X-Api-Key`, or from `Authorization: Bearer`."""
    return key_of(headers.get("x-api-key"), headers.get("authorization"))


def key_of(api_key: str | None, authorization: str | None) -> str | None:
    """The key from an `X-Api-Key` value, or else from an `Authorization: Bearer` one."""
    if api_key and api_key.strip():
        return api_key.strip()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` bytes (the rest is left unread).

    Raises ClientGone if the client disconnects first: half a request is never
    treated as a whole one.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def refusal_body(refusal: Refusal) -> dict[str, Any]:
    """A refusal as JSON: Apollo's error shape, then Bollard's own details."""
    error = refusal.error
    info: dict[str, Any] = {
        "request_id": refusal.request_id,
        "action": refusal.action,
        "reason": error.message,
    }
    if refusal.would_allow is not None:
        info["would_allow"] = list(refusal.would_allow)
    if isinstance(error, UnknownParameter):
        info["unknown_parameters"] = error.nearest  # each name → the nearest it takes
    body: dict[str, Any] = {"error": error.message, "error_code": error.error_code}
    if isinstance(error, RateLimited):
        body["message"] = error.message  # Apollo's own 429 shape, for existing clients
    body["bollard"] = info
    return body


def refusal_headers(refusal: Refusal) -> tuple[tuple[str, str], ...]:
    """The request id, and the error's own headers (`Retry-After`, `Allow`)."""
    return (("x-request-id", refusal.request_id), *refusal.error.headers.items())
