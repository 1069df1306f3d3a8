"""Response headers for every console and reference page: no framing, no sniffing.

The console refuses to be framed (X-Frame-Options DENY and CSP
frame-ancestors 'none'), loads scripts and styles only from itself, and asks
browsers not to cache signed-in pages.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def secure(headers: MutableHeaders, *, private: bool) -> None:
    """Add the security headers; `private` pages are also never cached."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if private:
        headers.setdefault("cache-control", "no-store")


class SecurityHeaders:
    """ASGI middleware adding `secure(...)` to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, *, private: bool = True) -> None:
        self.app = app
        self.private = private

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/admin/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure(MutableHeaders(scope=message), private=self.private and not static)
            await send(message)

        await self.app(scope, receive, send_with_headers)
