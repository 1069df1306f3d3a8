"""What a console form's POST leaves for the page it redirects to (POST, redirect, GET).

A successful form answers 303 to a page, so a reload re-reads the page instead
of submitting the form again. What that page must say once (the notice, and
a new key, which exists nowhere else) rides in a short-lived cookie sealed
with AES-GCM under a key bound to the session: only this session's next page
can read it, it is unreadable to the browser's scripts and in transit logs,
and the page that shows it deletes it. A browser need not obey: the session's
row remembers when the newest flash it showed was sealed, so a copy of the
cookie replayed (or an older one) shows nothing, and the key is shown only once.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bollard.admin.auth import AdminAuth

FLASH_COOKIE = "bollard_flash"
FLASH_SECONDS = 120
_FOR = "_for"  # the path of the page a flash is for
_SEALED = "_sealed_us"  # when it was sealed: the session shows each flash once


def redirect_with(
    auth: AdminAuth, request: Request, session_id: str, target: str, **said: Any
) -> Response:
    """A 303 to `target` carrying `said` (notice, key, …) for that page only."""
    response = RedirectResponse(target, status_code=303)
    # Bound to the page it is for: a new key must never show on another agent's page.
    stamped = {**said, _FOR: _page(target), _SEALED: time.time_ns() // 1000}
    sealed = _seal(auth, session_id, json.dumps(stamped).encode())
    response.set_cookie(
        FLASH_COOKIE,
        sealed,
        max_age=FLASH_SECONDS,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def take(auth: AdminAuth, request: Request, session_id: str) -> dict[str, Any]:
    """What the previous POST left for this page, or {} (a stale or foreign cookie is {},
    and so is one this session has shown already)."""
    sealed = request.cookies.get(FLASH_COOKIE)
    if not sealed:
        return {}
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        plain = AESGCM(_key(auth, session_id)).decrypt(raw[:12], raw[12:], None)
        said = json.loads(plain)
    except (ValueError, InvalidTag):
        return {}
    if not isinstance(said, dict) or said.pop(_FOR, None) != _page(request.url.path):
        return {}
    sealed_us = said.pop(_SEALED, None)
    if not isinstance(sealed_us, int) or not await auth.show_flash(session_id, sealed_us):
        return {}
    return said


def _page(target: str) -> str:
    """The path a flash is for, as Starlette decodes it (no query, no %-escapes)."""
    return unquote(urlsplit(target).path)


def forget(response: Response) -> None:
    """Delete the flash cookie: its message has been shown."""
    response.delete_cookie(FLASH_COOKIE, path="/admin")


def _seal(auth: AdminAuth, session_id: str, plain: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(auth, session_id)).encrypt(nonce, plain, None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _key(auth: AdminAuth, session_id: str) -> bytes:
    return auth.derived_key(f"flash:{session_id}")
