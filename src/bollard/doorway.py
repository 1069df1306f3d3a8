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

from bollard.calls import Held, Refusal
from bollard.errors import RateLimited, UnknownParameter


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


_NEXT = {
    "pending": "a person must approve it first: poll the status_url (GET, this agent's key) "
    "until it answers with Apollo's answer, a denial or an expiry",
    "approved": "it was approved: GET the status_url (this agent's key) to send it and get "
    "Apollo's answer",
    "executing": "it is being sent right now: GET the status_url again in a moment for "
    "Apollo's answer",
}


def held_text(held: Held) -> str:
    """One sentence for the agent: held, why, and what to do next."""
    a = held.approval
    return (
        f"{a.action} was held for a person's approval ({a.reason}); nothing was sent to "
        f"Apollo. Approval {a.id}, expires {a.expires_at:%Y-%m-%d %H:%M} UTC: {_NEXT[held.state]}."
    )


def held_body(held: Held) -> dict[str, Any]:
    """A held call as JSON: Apollo's message shape, then the approval under `bollard`."""
    a = held.approval
    info = {
        "approval_id": a.id,
        "status": held.state,
        "expires_at": a.expires_at.isoformat(timespec="seconds"),
        "status_url": held.status_url,
        "request_id": held.request_id,
        "action": a.action,
        "reason": a.reason,
        "credits_worst_case": a.credits,
    }
    return {"message": held_text(held), "bollard": info}


def held_headers(held: Held) -> tuple[tuple[str, str], ...]:
    """`Location` (the status URL), the request id, and when to poll again."""
    return (
        ("location", held.status_url),
        ("x-request-id", held.request_id),
        ("retry-after", "5" if held.state == "executing" else "30"),
    )
