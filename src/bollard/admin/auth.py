"""The console's sign-in: admin tokens, signed session cookies and CSRF tokens.

Two kinds of token sign in: the admin token of the settings (the first admin,
`admin`, role admin) and named admins' tokens (`bollard admins create`, looked up
by their hash in `bollard.admins`). Whoever signed in rides on the `Principal`,
and a session's row names them: a revoked admin's sessions end at once.

The admin token is `BOLLARD_ADMIN_TOKEN`, or one generated at first start into
`state_dir/admin.token` (mode 0600) and printed once. A session is a cookie
`<id>.<expires>.<hmac>` signed with a key derived from the token, and a row in the
database (`bollard.admin.sessions`): a cookie counts only while it verifies and its
row is live, so signing out ends the session on every replica, and changing the
token signs everyone out. A CSRF token is an HMAC of the session id: forms
carry it in a hidden field, scripts in the `X-CSRF-Token` header. Scripts that
send the admin token itself as `Authorization: Bearer` need no CSRF token,
because a browser never adds that header on its own.

Wrong tokens are counted per client address (`bollard.admin.throttle`): after
`MAX_FAILURES` in a minute, that address is refused (429, with the seconds to wait)
until the minute is over, right token or not, on the sign-in form, the console API,
/metrics and /reference alike. Clients that share an address (everyone on loopback,
everyone behind one proxy not named in BOLLARD_FORWARDED_ALLOW_IPS) share its
allowance; sessions already signed in are not affected. With BOLLARD_REDIS_URL the
count is shared by every replica through Redis (what happens when Redis fails is in
that module's docstring). The token itself (32 random bytes, or at least 16
characters of your own) is what makes guessing hopeless, the count what makes trying
noisy.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response

from bollard.admin.sessions import Sessions, utc
from bollard.admin.throttle import RedisThrottle, Throttle, throttle_for
from bollard.admins import FIRST, FIRST_ADMIN, Admin, Admins
from bollard.errors import ConfigError
from bollard.settings import ADMIN_TOKEN_MIN, Settings

SESSION_COOKIE = "bollard_admin"
LOGIN_COOKIE = "bollard_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def admin_token(settings: Settings, announce: Callable[[str], None] | None = None) -> str:
    """`BOLLARD_ADMIN_TOKEN`, or the generated token in the state directory (made once)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = settings.state_dir / "admin.token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        token = f"bat_{secrets.token_urlsafe(32)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another replica made it first: use theirs
            return _token_in(path)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        (announce or _print)(
            f"Generated an admin token for the console at /admin (stored in {path}, "
            f"mode 0600; set BOLLARD_ADMIN_TOKEN to choose your own):\n  {token}\n"
        )
    return _token_in(path)


def _token_in(path: Path) -> str:
    """The token in the state directory's file: as long as one set in the environment
    must be (a replica that just created the file may still be writing it)."""
    deadline = time.monotonic() + 2
    while not (token := path.read_text("utf-8").strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    if len(token) < ADMIN_TOKEN_MIN:
        raise ConfigError(
            f"the admin token in {path} is shorter than {ADMIN_TOKEN_MIN} characters: "
            "delete the file to have a new one generated, or set BOLLARD_ADMIN_TOKEN"
        )
    return token


def auth_for(settings: Settings, engine: Engine) -> AdminAuth:
    """The app's one AdminAuth: the console, its API and /metrics share its count."""
    return AdminAuth(
        admin_token(settings),
        session_seconds=settings.admin_session_hours * 3600,
        throttle=throttle_for(settings),
        sessions=Sessions(engine),
        admins=Admins(engine),
    )


def _print(message: str) -> None:
    sys.stderr.write(message)
    sys.stderr.flush()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the console: a browser session, or a script holding a token."""

    via: str  # session | token
    admin: Admin = FIRST
    session_id: str = ""


class AdminAuth:
    """Checks the admin token, signs and reads session cookies, makes CSRF tokens."""

    def __init__(
        self,
        token: str,
        *,
        session_seconds: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
        throttle: Throttle | RedisThrottle | None = None,
        sessions: Sessions | None = None,
        admins: Admins | None = None,
    ) -> None:
        self._token_digest = hashlib.sha256(token.encode()).digest()
        self._key = hmac.new(token.encode(), b"bollard admin session v1", "sha256").digest()
        self._session_seconds = session_seconds
        self._clock = clock
        self.throttle = throttle if throttle is not None else Throttle()
        self._sessions = sessions  # without a store, no session is ever good
        self._admins = admins  # without a store, only the admin token signs in

    async def token_matches(self, presented: str, client: str | None = None) -> bool:
        """Whether `presented` is the admin token or a live named admin's."""
        return await self.identify(presented, client) is not None

    async def identify(self, presented: str, client: str | None = None) -> Admin | None:
        """The admin whose token `presented` is: the first admin's (constant time) or a
        live named admin's (by its hash), else None.

        With a client address: raises SignInThrottled while that address is shut
        out (whether or not the token is right), and counts a wrong token against it.
        """
        digest = hashlib.sha256(presented.encode()).digest()
        found: Admin | None = FIRST if hmac.compare_digest(digest, self._token_digest) else None
        if found is None and self._admins is not None:
            found = await asyncio.to_thread(self._admins.by_token, presented)
        if client is not None:
            await self.throttle.attempt(client, found is not None)
        return found

    async def aclose(self) -> None:
        """Release the throttle's connections (Redis's, if it has one)."""
        await self.throttle.aclose()

    async def new_session(self, admin: str = "") -> tuple[str, str]:
        """A fresh session, recorded: its id and the cookie value that carries it."""
        if self._sessions is None:
            raise RuntimeError("this AdminAuth has no session store: sign-in is off")
        session_id = secrets.token_urlsafe(16)
        now = self._clock()
        expires = int(now + self._session_seconds)
        await asyncio.to_thread(self._sessions.begin, session_id, admin, utc(expires), utc(now))
        payload = f"{session_id}.{expires}"
        return session_id, f"{payload}.{self._sign('session', payload)}"

    async def session_id(self, cookie: str | None) -> str | None:
        """The session id in a cookie, if we signed it and the session is still live."""
        found = await self.session(cookie)
        return found.session_id if found is not None else None

    async def session(self, cookie: str | None) -> Principal | None:
        """Who holds the session in a cookie, if we signed it, it is live and its admin
        may still sign in."""
        session_id = self._signed_session_id(cookie)
        if session_id is None or self._sessions is None:
            return None
        name = await asyncio.to_thread(self._sessions.holder, session_id, utc(self._clock()))
        if name is None:
            return None
        if self._admins is None:
            admin = FIRST if name in ("", FIRST_ADMIN) else None
        else:
            admin = await asyncio.to_thread(self._admins.holding, name)
        return None if admin is None else Principal("session", admin, session_id)

    async def end_session(self, cookie: str | None) -> None:
        """End the session a cookie carries (signing out), if it is one of ours."""
        session_id = self._signed_session_id(cookie)
        if session_id is not None and self._sessions is not None:
            await asyncio.to_thread(self._sessions.end, session_id, utc(self._clock()))

    async def show_flash(self, session_id: str, sealed_us: int) -> bool:
        """Whether this session may show a flash sealed at `sealed_us` (once only)."""
        if self._sessions is None:
            return False
        return await asyncio.to_thread(self._sessions.show_flash, session_id, sealed_us)

    def _signed_session_id(self, cookie: str | None) -> str | None:
        if not cookie or cookie.count(".") != 2:
            return None
        session_id, expires, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign("session", f"{session_id}.{expires}")):
            return None
        if not (expires.isascii() and expires.isdigit()) or int(expires) <= self._clock():
            return None
        return session_id

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token bound to one session (or one sign-in form)."""
        return self._sign("csrf", session_id)

    def csrf_matches(self, session_id: str, presented: str | None) -> bool:
        """Whether `presented` is the CSRF token of this session."""
        return bool(presented) and hmac.compare_digest(str(presented), self.csrf_token(session_id))

    async def principal(self, request: Request) -> Principal | None:
        """The caller, from `Authorization: Bearer <admin token>` or the session cookie.

        Raises SignInThrottled for a token from an address shut out for wrong ones.
        """
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials:
            admin = await self.identify(credentials.strip(), client_address(request))
            return Principal("token", admin) if admin is not None else None
        return await self.session(request.cookies.get(SESSION_COOKIE))

    def set_session_cookie(self, response: Response, request: Request, value: str) -> None:
        """Attach the session cookie: HttpOnly, SameSite=Strict, Secure behind TLS."""
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=int(self._session_seconds),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose, derived from the admin token's secret."""
        return hmac.new(self._key, f"key\n{purpose}".encode(), "sha256").digest()

    def _sign(self, purpose: str, payload: str) -> str:
        message = f"{purpose}\n{payload}".encode()
        return hmac.new(self._key, message, "sha256").hexdigest()


def login_nonce(request: Request) -> str:
    """The pre-sign-in nonce from its cookie, or a new one (double-submit CSRF for sign-in)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if len(nonce) >= 16 and nonce.replace("-", "").replace("_", "").isalnum():
        return nonce
    return secrets.token_urlsafe(16)


def set_login_cookie(response: Response, request: Request, nonce: str) -> None:
    """Attach the sign-in form's nonce cookie (short-lived, HttpOnly, SameSite=Strict)."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def client_address(request: Request) -> str:
    """Whom wrong tokens count against: the caller's IP address (IPv6: its /64, which
    one host may hold whole). It is the peer's address unless the peer is a proxy
    named in BOLLARD_FORWARDED_ALLOW_IPS, whose X-Forwarded-For then says."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d from a dual-stack proxy is a.b.c.d
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
