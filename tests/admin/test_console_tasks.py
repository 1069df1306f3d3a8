"""An admin's morning in the console, in Chromium at desktop (1280×800) and phone (390×844) size.

Each test asserts what a person reads on the page, and saves screenshots under
artifacts/screenshots/ (named by test and screen) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.admin.test_browser import SHOTS, browser, shot, sign_in
from tests.harness import Bollard, clear_of_boundary

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
    expect(limits.get_by_role("table")).to_contain_text(re.compile("resets (in|now)"))
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
    expect(rows).to_contain_text("limits.set by admin (console)")
    expect(rows).to_contain_text("60 requests per minute, 500 credits per UTC day")
    expect(rows).to_contain_text("limits.clear by admin (console)")


def test_usage_reads_at_a_glance(admin: Bollard, screen: Any) -> None:
    from playwright.sync_api import expect

    from bollard.limits.rule_store import set_rule
    from bollard.limits.rules import LimitRule

    # The page buckets by UTC hour and day on the server's clock: keep the calls and the
    # page inside one hour, so the bars and labels checked below are the ones made here.
    clear_of_boundary(3600, 60)
    _, key = admin.agents.create("prospector", ["organizations:read", "people:read"])
    set_rule(admin.engine, LimitRule("prospector", credits_per_day=20, per_minute=100), 0)
    with admin.client(key) as agent:
        for _ in range(3):
            assert agent.post("/api/v1/mixed_companies/search", json={"per_page": 1}).is_success
        assert agent.post("/api/v1/contacts", json={"first_name": "Ada"}).status_code == 403
    today = datetime.now(UTC).strftime("%b %d")

    sign_in(screen, admin, "/admin/usage")
    periods = screen.get_by_role("navigation", name="Period")
    expect(periods.get_by_role("link", name=re.compile("Last 7 days, by day"))).to_contain_text(
        today
    )
    expect(screen.locator("#period-dates")).to_contain_text(f"– {today}")
    card = screen.get_by_role("region", name="prospector", exact=True)
    expect(card).to_contain_text("4 calls, 1 denied, 3 credits (budget 20 a day)")
    credits = card.get_by_role("img", name=re.compile("^Credits spent by prospector"))
    expect(credits).to_contain_text("day (UTC)")
    expect(credits).to_contain_text("budget 20 a day")
    bar = credits.get_by_label(f"{today}: 3 credits")
    expect(bar.locator(".value")).to_be_hidden()
    bar.locator("rect.hit").hover()
    expect(bar.locator(".value")).to_be_visible()
    # A minute window may roll over between the calls and the page: match its shape.
    table = card.get_by_role("table")
    expect(table).to_contain_text(
        re.compile(r"every action, per minute\s*[0-3] / 100\s*resets (in|now)")
    )
    expect(table).to_contain_text(re.compile(r"per day \(UTC\)\s*[0-3] / 20\s*resets (in|now)"))
    named(screen, "usage-week")
    fits(screen)

    periods.get_by_role("link", name=re.compile("Last 24 hours")).click()
    hourly = screen.get_by_role("img", name=re.compile("^Calls by prospector"))
    expect(hourly).to_contain_text("hour (UTC)")
    expect(hourly.get_by_label(re.compile(r"^\d\d:00: 4 calls$"))).to_have_count(1)
    named(screen, "usage-day")


def test_the_audit_log_filters_by_everything_the_api_does_with_counts_and_a_shareable_url(
    admin: Bollard, screen: Any
) -> None:
    from playwright.sync_api import expect

    _, key = admin.agents.create("sdr", ["people:read"])
    with admin.client(key) as agent:
        assert agent.post("/api/v1/mixed_people/api_search", json={"per_page": 1}).is_success
        assert agent.post("/api/v1/contacts", json={"first_name": "Ada"}).status_code == 403
        assert agent.post("/api/v1/contacts/search", json={}).status_code == 403
    admin.settle()

    sign_in(screen, admin, "/admin/audit")
    facets = screen.get_by_role("region", name="Counts")
    expect(facets.get_by_role("listitem").filter(has_text="deny")).to_have_text("deny 2")
    expect(facets.get_by_role("listitem").filter(has_text="rest")).to_have_text("rest 6")
    for label in ("Kind", "Door", "Decision", "Outcome", "Since (UTC)", "Until (UTC)"):
        expect(screen.get_by_label(label)).to_be_visible()
    screen.get_by_label("Door").select_option("rest")
    screen.get_by_label("Kind").select_option("request")
    screen.get_by_role("button", name="Filter").click()
    expect(screen.locator("#log-rows tr")).to_have_count(3)
    facets.get_by_role("link", name="deny").click()
    expect(screen.locator("#log-rows tr")).to_have_count(2)
    shared = screen.url
    assert "door=rest" in shared
    assert "decision=deny" in shared
    named(screen, "audit-filtered")
    fits(screen)

    screen.goto(admin.url + "/admin/agents")
    screen.goto(shared)  # the URL alone brings the same search back
    expect(screen.get_by_label("Decision")).to_have_value("deny")
    expect(screen.locator("#log-rows tr")).to_have_count(2)
    expect(screen.locator("#log-rows")).to_contain_text("not granted")
    screen.get_by_role("link", name="last 24 hours").click()
    expect(screen.locator("#log-rows tr")).to_have_count(2)
    assert "since=" in screen.url


def test_the_chain_status_says_how_much_of_the_log_it_covers(admin: Bollard, screen: Any) -> None:
    from playwright.sync_api import expect

    from bollard.audit import Record
    from bollard.audit.appender import append_records

    now_us = int(datetime.now(UTC).timestamp() * 1e6)
    calls = [
        Record(f"{i:024x}", "request", now_us + i, "rest", "bulk", "people.search", "allow")
        for i in range(1001)
    ]
    admin.settle()
    append_records(admin.engine, calls)

    sign_in(screen, admin, "/admin/audit")
    status = screen.locator("#chain-status")
    expect(status).to_contain_text(
        "Hash chain verified for the newest 1,000 of 1,001 records only (records 2–1,001)"
    )
    expect(status).to_contain_text("older records and the signed checkpoints are checked by")
    named(screen, "audit-chain-partial")
    status.get_by_role("link", name="Verify the whole chain").click()
    expect(status).to_contain_text("Hash chain verified: all 1,001 records (full verification")


def test_the_reference_reads_parameter_types_and_finds_tools_and_words(
    admin: Bollard, screen: Any
) -> None:
    from playwright.sync_api import expect

    screen.goto(admin.url + "/reference")
    screen.get_by_label("Search").fill("phone")
    screen.get_by_label("Search").press("Enter")
    expect(screen.locator("#shown-count")).to_have_text("15 of 80 endpoints")
    row = screen.locator("details#people\\.enrich")
    row.locator("summary").click()
    params = row.get_by_role("table")
    expect(params.get_by_role("row", name=re.compile("^reveal_phone_number"))).to_contain_text(
        "boolean"
    )
    expect(screen.locator("body")).not_to_contain_text("built-in method")
    named(screen, "reference-phone-search")
    row.screenshot(path=str(SHOTS / f"console-reference-row-{screen.screen_name}.png"))
    fits(screen)

    screen.get_by_label("Search").fill("apollo_mixed_companies_search")
    screen.get_by_label("Search").press("Enter")
    expect(screen.locator("#shown-count")).to_have_text("1 of 80 endpoints")
    search = screen.locator("details#people\\.search")
    screen.get_by_label("Search").fill("people.search")
    screen.get_by_label("Search").press("Enter")
    search.locator("summary").click()
    titles = search.get_by_role("row", name=re.compile("^person_titles"))
    expect(titles.get_by_role("cell").nth(2)).to_have_text("array of string")


def test_the_grants_matrix_on_a_phone_scrolls_inside_its_box_with_a_cue(
    admin: Bollard, browser: Any
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    phone = context.new_page()
    phone.screen_name = "phone"
    try:
        admin.agents.create("writer", ["contacts:write"])
        sign_in(phone, admin, "/admin/agents/writer")
        expect(phone.get_by_text("Scroll sideways to see the write column →")).to_be_visible()
        matrix = phone.get_by_role("region", name="Grants matrix")
        wider = matrix.evaluate("box => box.scrollWidth > box.clientWidth")
        assert wider
        fits(phone)
        phone.get_by_role("checkbox", name="contacts.create").scroll_into_view_if_needed()
        named(phone, "grants-scrolled")
    finally:
        context.close()
