"""Console sessions end when they should: signing out, a new admin token, an admin
removed. A copy of the cookie kept from before is refused afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from bollard.admin.auth import SESSION_COOKIE
from bollard.admin.sessions import Sessions
from tests.harness import ADMIN_TOKEN, Bollard, Console, StartBollard, sign_in


def _with_cookie(bollard: Bollard, cookie: str) -> httpx.Client:
    client = httpx.Client(base_url=bollard.url, timeout=10)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    kept = console.client.cookies[SESSION_COOKIE]
    assert console.client.get("/admin/api/agents").status_code == 200
    out = console.client.post("/admin/logout", data={"csrf": console.csrf})
    assert out.status_code == 200  # the sign-in page, after the redirect
    with _with_cookie(console.bollard, kept) as replay:
        api = replay.get("/admin/api/agents")
        page = replay.get("/admin/agents")
    assert api.status_code == 401
    assert page.status_code == 303
    assert page.headers["location"].startswith("/admin/login")


def test_a_new_admin_token_ends_the_sessions_of_the_old_one(
    start_bollard: StartBollard,
) -> None:
    before = start_bollard(admin_token=ADMIN_TOKEN)
    with httpx.Client(base_url=before.url, timeout=10, follow_redirects=True) as client:
        assert sign_in(client).status_code == 200
        kept = client.cookies[SESSION_COOKIE]
    after = start_bollard(admin_token="a-new-admin-token-9f3e")  # same database
    with _with_cookie(after, kept) as replay:
        assert replay.get("/admin/api/agents").status_code == 401


def test_ending_an_admins_sessions_ends_each_of_them_and_no_one_elses(
    admin: Bollard,
) -> None:
    sessions = Sessions(admin.engine)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    for session_id, who in [("s1", "ann"), ("s2", "ann"), ("s3", "bob")]:
        sessions.begin(session_id, who, later, now)
    assert sessions.end_all("ann", now) == 2
    assert [sessions.live(s, now) for s in ("s1", "s2", "s3")] == [False, False, True]
    assert not sessions.live("s3", later)  # and a session past its expiry is over
    assert not sessions.live("never-begun", now)
