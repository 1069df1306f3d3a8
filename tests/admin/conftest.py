"""A real Bollard on loopback (in front of the sandbox) with a known admin token.

`console` signs an httpx client in through the sign-in form, as a browser
would, and hands back the client and the session's CSRF token. `redis_url` is the
limits tests' (`BOLLARD_TEST_REDIS_URL`; skipped locally without it, a failure under CI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.gateway.conftest import Bollard, StartBollard, sandbox, start_bollard
from tests.limits.conftest import redis_url

__all__ = [
    "ADMIN_TOKEN",
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

ADMIN_TOKEN = "test-admin-token-5d1e"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Console:
    """A signed-in browser-like client and its session's CSRF token."""

    client: httpx.Client
    csrf: str
    bollard: Bollard


@pytest.fixture
def admin(start_bollard: StartBollard) -> Bollard:
    return start_bollard(admin_token=ADMIN_TOKEN)


def sign_in(client: httpx.Client, token: str = ADMIN_TOKEN) -> httpx.Response:
    """Post the sign-in form with its own CSRF token; the client keeps the cookies."""
    form = client.get("/admin/login")
    found = CSRF_INPUT.search(form.text)
    assert found is not None
    return client.post(
        "/admin/login", data={"csrf": found[1], "token": token, "next": "/admin/agents"}
    )


@pytest.fixture
def console(admin: Bollard) -> Iterator[Console]:
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as client:
        page = sign_in(client)
        meta = CSRF_META.search(page.text)
        assert page.status_code == 200
        assert meta is not None
        yield Console(client, meta[1], admin)
