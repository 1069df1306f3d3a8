"""An admin's morning in the console, in Chromium at desktop (1280×800) and phone (390×844) size.

Each test asserts what a person reads on the page, and saves screenshots under
artifacts/screenshots/ (named by test and screen) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.conftest import Bollard
from tests.admin.test_browser import browser, shot, sign_in

pytestmark = pytest.mark.browser
__all__ = ["browser"]

SCREENS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = SCREENS[request.param]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=request.param == "phone"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.screen_name = request.param
    yield tab
    context.close()


def named(page: Any, name: str) -> None:
    shot(page, f"console-{name}-{page.screen_name}")


def fits(page: Any) -> None:
    """The page itself never scrolls sideways (wide tables scroll inside their box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


def test_a_new_key_comes_with_a_curl_for_an_action_the_agent_was_granted(
    admin: Bollard, screen: Any
) -> None:
    from playwright.sync_api import expect

    sign_in(screen, admin)
    screen.get_by_label("Name").fill("crm-reader")
    screen.get_by_label("Grants").fill("contacts:read, organizations:read")
    screen.get_by_role("button", name="Create agent").click()
    expect(screen.get_by_role("heading", name="Key for crm-reader: copy it now")).to_be_visible()
    assert screen.url.endswith("/admin/agents/crm-reader")
    curl = screen.locator("#curl-example").text_content()
    key = screen.locator("#new-key").text_content().strip()
    assert "/api/v1/contacts/search" in curl
    expect(
        screen.get_by_text("Calls contacts.search, which this agent was granted")
    ).to_be_visible()
    named(screen, "key-panel")
    fits(screen)
    with admin.client(key) as agent:
        assert agent.post("/api/v1/contacts/search", json={"per_page": 1}).status_code == 200

    screen.reload()  # a GET: nothing is created twice, and the key is not shown again
    expect(screen.get_by_role("heading", name="crm-reader")).to_be_visible()
    expect(screen.locator("#new-key")).to_have_count(0)
    expect(screen.get_by_role("alert")).to_have_count(0)

    screen.goto(admin.url + "/admin/agents")
    screen.get_by_label("Name").fill("no-grants")
    screen.get_by_role("button", name="Create agent").click()
    expect(screen.locator("#curl-example")).to_have_text(re.compile("has no grants yet"))


def test_a_failed_grants_save_keeps_what_the_admin_ticked_and_typed(
    admin: Bollard, screen: Any
) -> None:
    from playwright.sync_api import expect

    admin.agents.create("sdr", [])
    sign_in(screen, admin, "/admin/agents/sdr")
    screen.get_by_role("checkbox", name="contacts.create").check()
    screen.get_by_label("Add selectors").fill("peple:read")
    screen.get_by_role("button", name="Save grants").click()
    expect(screen.get_by_role("alert")).to_contain_text("peple")
    expect(screen.get_by_role("checkbox", name="contacts.create")).to_be_checked()
    expect(screen.get_by_label("Add selectors")).to_have_value("peple:read")
    named(screen, "grants-refused")

    screen.get_by_label("Add selectors").fill("people:read")
    screen.get_by_role("button", name="Save grants").click()
    expect(screen.get_by_role("status")).to_contain_text("granted contacts.create, people:read")
    assert screen.url.endswith("/admin/agents/sdr")
    screen.reload()
    expect(screen.get_by_role("status")).to_have_count(0)
    saved = admin.agents.get("sdr")
    assert saved is not None
    assert saved.grants == ("contacts.create", "people:read")

    for form in ("grants", "revoke", "rotate", "limits"):
        screen.goto(f"{admin.url}/admin/agents/sdr/{form}")
        expect(screen.get_by_role("heading", name="sdr")).to_be_visible()
    screen.goto(admin.url + "/admin/logout")
    expect(screen.get_by_role("heading", name="Agents", exact=True)).to_be_visible()


def test_a_revoked_agents_page_offers_no_grant_editing(admin: Bollard, screen: Any) -> None:
    from playwright.sync_api import expect

    admin.agents.create("old", ["people:read"])
    admin.agents.revoke("old")
    sign_in(screen, admin, "/admin/agents/old")
    expect(
        screen.get_by_text("This agent is revoked: its grants are shown as they were")
    ).to_be_visible()
    expect(screen.get_by_role("button", name="Save grants")).to_have_count(0)
    expect(screen.get_by_role("checkbox", name="people:read")).to_be_disabled()
    named(screen, "revoked-agent")


def test_limits_and_budgets_are_set_and_cleared_from_the_console_and_recorded(
    admin: Bollard, screen: Any
) -> None:
    from playwright.sync_api import expect

    admin.agents.create("enricher", ["people:read"])
    sign_in(screen, admin, "/admin/agents/enricher")
    expect(
        screen.get_by_text("No limits: enricher is held only by Apollo's own windows")
    ).to_be_visible()
    screen.get_by_text("Set or clear limits for enricher").click()
    screen.get_by_label("Requests per minute").fill("-3")
    screen.get_by_role("button", name="Save limits").click()
    expect(screen.get_by_role("alert")).to_have_text(
        "Requests per minute must be a whole number, 0 or more, not '-3'"
    )
    expect(screen.get_by_label("Requests per minute")).to_have_value("-3")
    screen.get_by_label("Requests per minute").fill("60")
    screen.get_by_label("Credits per UTC day").fill("500")
    screen.get_by_role("button", name="Save limits").click()
    expect(screen.get_by_role("status")).to_have_text(
        "Limits for enricher (every action): 60 requests per minute, 500 credits per UTC day."
    )
    limits = screen.get_by_role("region", name="Limits and credit budgets")
    expect(limits).to_contain_text("every action: 60 requests per minute, 500 credits per UTC day")
    expect(limits.get_by_role("table")).to_contain_text("0 / 60")
    expect(limits.get_by_role("table")).to_contain_text("resets in")
    named(screen, "agent-limits")
    fits(screen)

    screen.goto(admin.url + "/admin/usage")
    card = screen.get_by_role("region", name="enricher", exact=True)
    card.get_by_text("Set or clear limits for enricher").click()
    card.get_by_role("button", name="Clear limits for this action").click()
    expect(screen.get_by_role("status")).to_have_text(
        "Cleared 1 limit rule(s) for enricher (every action)."
    )
    assert "/admin/usage" in screen.url
    screen.goto(admin.url + "/admin/audit?agent=enricher")
    rows = screen.locator("#log-rows")
    expect(rows).to_contain_text("limits by console")
    expect(rows).to_contain_text("limits cleared by console")
