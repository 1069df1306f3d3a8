"""Wrong admin tokens are counted per address: after ten in a minute, that address waits.

Over real HTTP: the console API, /metrics and the sign-in form share one count, the
right token is refused too while an address waits (a guesser learns nothing), and
another address is not affected (uvicorn takes X-Forwarded-For from loopback, as
from a trusted proxy). The window's end and the memory bound are checked on
AdminAuth with a clock the test moves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bollard.admin.auth import _MAX_TRACKED, FAILURE_WINDOW, MAX_FAILURES, AdminAuth
from bollard.admin.problems import SignInThrottled
from tests.admin.conftest import ADMIN_TOKEN, CSRF_INPUT, Bollard

WRONG = "not-the-admin-token-at-all"


def bearer(token: str, address: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if address:
        headers["X-Forwarded-For"] = address
    return headers


def test_ten_wrong_tokens_shut_the_address_out_of_api_and_metrics(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        for _ in range(MAX_FAILURES):
            wrong = client.get("/admin/api/agents", headers=bearer(WRONG))
            assert wrong.status_code == 401
        assert client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN)).status_code == 429
        refused = client.get("/metrics", headers=bearer(ADMIN_TOKEN))
        assert refused.status_code == 429
        assert refused.json()["error_code"] == "SIGN_IN_THROTTLED"
        assert 0 < int(refused.headers["retry-after"]) <= FAILURE_WINDOW
        api = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN))
        assert api.json()["error_code"] == "SIGN_IN_THROTTLED"
        assert "try again in" in api.json()["error"]
        assert api.headers["retry-after"].isdigit()
        # Another address still gets in with the token; a wrong one is still a 401 there.
        other = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN, "203.0.113.7"))
        assert other.status_code == 200
        assert client.get("/metrics", headers=bearer(WRONG, "203.0.113.7")).status_code == 401


def test_the_sign_in_form_counts_too_and_says_how_long_to_wait(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:

        def post(token: str) -> httpx.Response:
            found = CSRF_INPUT.search(client.get("/admin/login").text)
            assert found is not None
            return client.post("/admin/login", data={"csrf": found[1], "token": token})

        for _ in range(MAX_FAILURES):
            assert post(WRONG).status_code == 401
        page = post(ADMIN_TOKEN)
        assert page.status_code == 429
        assert "Too many wrong tokens from your address" in page.text
        assert page.headers["retry-after"].isdigit()
        assert "bollard_admin" not in page.cookies  # no session for the right token either


def test_the_count_ends_with_its_minute_and_the_right_token_clears_it() -> None:
    now = [1000.0]
    auth = AdminAuth("t" * 32, clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        assert not auth.token_matches(WRONG, "10.0.0.1")
    with pytest.raises(SignInThrottled) as shut_out:
        auth.token_matches("t" * 32, "10.0.0.1")
    assert shut_out.value.retry_after == FAILURE_WINDOW
    now[0] += FAILURE_WINDOW
    assert auth.token_matches("t" * 32, "10.0.0.1")
    # Nine wrong, then the right one: the count starts over.
    for _ in range(MAX_FAILURES - 1):
        auth.token_matches(WRONG, "10.0.0.2")
    assert auth.token_matches("t" * 32, "10.0.0.2")
    for _ in range(MAX_FAILURES - 1):
        assert not auth.token_matches(WRONG, "10.0.0.2")


def test_the_addresses_remembered_stay_bounded() -> None:
    now = [0.0]
    auth = AdminAuth("t" * 32, clock=lambda: now[0])
    for n in range(_MAX_TRACKED + 500):
        auth.token_matches(WRONG, f"addr-{n}")
    assert len(auth._failures) <= _MAX_TRACKED
    now[0] += FAILURE_WINDOW
    auth.token_matches(WRONG, "late")
    assert len(auth._failures) <= _MAX_TRACKED


def test_a_short_admin_token_is_refused_at_start_without_showing_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        "BOLLARD_ADMIN_TOKEN": "letmein",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bollard.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "BOLLARD_ADMIN_TOKEN: Value error, must be at least 16 characters" in done.stderr
    assert "letmein" not in done.stderr
    assert "Traceback" not in done.stderr
