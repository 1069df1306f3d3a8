"""The flash that carries a new key to its page: sealed, bound to its session, shown once
by a browser that keeps the cookie as told, and never in a log or the redirect."""

from __future__ import annotations

import logging

import httpx
import pytest

from bollard.admin.flash import FLASH_COOKIE
from tests.harness import CSRF_META, Bollard, Console, sign_in


def _create(console: Console, name: str) -> httpx.Response:
    """Create an agent through the form, without following the redirect."""
    return console.client.post(
        "/admin/agents",
        data={"csrf": console.csrf, "name": name, "grants": "people:read"},
        follow_redirects=False,
    )


def _new_key(page: str) -> str | None:
    marker = 'id="new-key"'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split(">", 1)[1].split("<", 1)[0].strip()


def test_the_new_key_rides_sealed_and_only_its_own_session_can_read_it(
    console: Console, admin: Bollard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = _create(console, "sealed")
    assert made.status_code == 303
    sealed = made.cookies[FLASH_COOKIE]
    location = made.headers["location"]
    # Another admin session (same token, another sign-in) holding the same cookie sees nothing.
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as other:
        assert sign_in(other).status_code == 200
        other.cookies.set(FLASH_COOKIE, sealed, path="/admin")
        assert _new_key(other.get(location).text) is None
    shown = console.client.get(location)
    key = _new_key(shown.text)
    assert key is not None
    assert key.startswith("bol_")
    for where in (sealed, location, str(made.headers), caplog.text):
        assert key not in where
    assert FLASH_COOKIE not in console.client.cookies  # the page that showed it deleted it
    assert _new_key(console.client.get(location).text) is None


def test_a_flash_cookie_kept_from_before_sign_out_shows_nothing_after(
    console: Console, admin: Bollard
) -> None:
    made = _create(console, "kept")
    sealed = made.cookies[FLASH_COOKIE]
    console.client.post("/admin/logout", data={"csrf": console.csrf})
    page = sign_in(console.client)
    assert CSRF_META.search(page.text) is not None
    console.client.cookies.set(FLASH_COOKIE, sealed, path="/admin")
    assert _new_key(console.client.get(made.headers["location"]).text) is None


def test_a_copy_of_the_flash_replayed_in_its_session_does_not_show_the_key_again(
    console: Console,
) -> None:
    made = _create(console, "replayed")
    sealed = made.cookies[FLASH_COOKIE]
    location = made.headers["location"]
    assert _new_key(console.client.get(location).text) is not None
    # Within FLASH_SECONDS, in the same session: the session's row says it was shown.
    console.client.cookies.set(FLASH_COOKIE, sealed, path="/admin")
    assert _new_key(console.client.get(location).text) is None


def test_an_older_flash_replayed_after_a_newer_one_shows_nothing(console: Console) -> None:
    first = _create(console, "first")
    older = first.cookies[FLASH_COOKIE]
    assert _new_key(console.client.get(first.headers["location"]).text) is not None
    second = _create(console, "second")
    assert _new_key(console.client.get(second.headers["location"]).text) is not None
    console.client.cookies.set(FLASH_COOKIE, older, path="/admin")
    assert _new_key(console.client.get(first.headers["location"]).text) is None


def test_a_new_key_shows_only_on_its_own_agents_page(console: Console, admin: Bollard) -> None:
    admin.agents.create("other", ["people:read"])
    made = _create(console, "keyed")
    # Another agent's page opened first (another tab) neither shows the key nor spends it.
    assert _new_key(console.client.get("/admin/agents/other").text) is None
    assert _new_key(console.client.get("/admin/usage").text) is None
    assert _new_key(console.client.get(made.headers["location"]).text) is not None
