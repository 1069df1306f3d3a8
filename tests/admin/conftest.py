"""A real Bollard on loopback (in front of the sandbox) with a known admin token.

`console` signs an httpx client in through the sign-in form, as a browser
would, and hands back the client and the session's CSRF token. `redis_url` is the
limits tests' (`BOLLARD_TEST_REDIS_URL`; skipped locally without it, a failure under CI).
The machinery lives in `tests.harness`.
"""

from __future__ import annotations

from tests.harness import (
    ADMIN_TOKEN,
    CSRF_INPUT,
    CSRF_META,
    Bollard,
    Console,
    StartBollard,
    admin,
    console,
    redis_url,
    sandbox,
    sign_in,
    start_bollard,
)

__all__ = [
    "ADMIN_TOKEN",
    "CSRF_INPUT",
    "CSRF_META",
    "Bollard",
    "Console",
    "StartBollard",
    "admin",
    "console",
    "redis_url",
    "sandbox",
    "sign_in",
    "start_bollard",
]
