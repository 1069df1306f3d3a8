"""The console and the reference guide in a real browser (Debian's Chromium via Playwright).

Each test saves screenshots under artifacts/screenshots/. Without
/usr/bin/chromium the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import ADMIN_TOKEN, Bollard

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEARCH = "/api/v1/mixed_people/api_search"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, bollard: Bollard, path: str = "/admin/agents") -> None:
    page.goto(bollard.url + path)
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_signs_in_creates_an_agent_and_reads_its_key_once(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(admin.url + "/admin/agents")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    shot(page, "01-sign-in")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("research")
    page.get_by_label("Grants").fill("people:read")
    page.get_by_role("button", name="Create agent").click()
    expect(page.get_by_role("heading", name="Key for research: copy it now")).to_be_visible()
    key = page.locator("#new-key").text_content().strip()
    expect(page.locator("#curl-example")).to_contain_text(f"X-Api-Key: {key}")
    expect(page.locator("#mcp-config")).to_contain_text(f"Bearer {key}")
    page.get_by_role("button", name="Copy curl example").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    shot(page, "02-agent-created-key-shown-once")
    with admin.client(key) as agent:
        assert agent.post(SEARCH, json={"per_page": 1}).status_code == 200
    page.goto(admin.url + "/admin/agents")
    expect(page.locator("#new-key")).to_have_count(0)
    expect(page.get_by_role("row", name="research")).to_contain_text("active")
    shot(page, "03-agents")


def test_an_admin_grants_and_revokes_and_finds_the_denied_call_in_the_log(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    _, key = admin.agents.create("sdr", [], note="SDR agent")
    contact = {"first_name": "Ada", "last_name": "Lovelace"}
    with admin.client(key) as agent:
        assert agent.post("/api/v1/contacts", json=contact).status_code == 403
    sign_in(page, admin, "/admin/agents/sdr")
    expect(page.get_by_role("heading", name="sdr")).to_be_visible()
    page.get_by_role("checkbox", name="contacts.create").check()
    page.get_by_role("button", name="Save grants").click()
    expect(page.get_by_role("status")).to_contain_text("granted contacts.create")
    expect(page.get_by_role("checkbox", name="contacts.create")).to_be_checked()
    shot(page, "04-grants-matrix")
    with admin.client(key) as agent:
        assert agent.post("/api/v1/contacts", json=contact).status_code == 200

    page.goto(admin.url + "/admin/audit")
    expect(page.locator("#chain-status")).to_contain_text("Hash chain verified")
    page.get_by_role("link", name="Verify the whole chain").click()
    expect(page.locator("#chain-status")).to_contain_text("full verification")
    expect(page.locator("#chain-status")).to_contain_text("Hash chain verified")
    page.get_by_label("Decision").select_option("deny")
    page.get_by_role("button", name="Filter").click()
    denied = page.locator("#log-rows tr")
    expect(denied).to_have_count(1)
    expect(denied).to_contain_text("contacts.create")
    expect(denied).to_contain_text("not granted")
    shot(page, "05-audit-log-denied")
    denied.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Call")).to_be_visible()
    expect(page.locator(".facts").first).to_contain_text("needs a grant of 'contacts.create'")
    shot(page, "06-audit-record")

    page.goto(admin.url + "/admin/audit")
    page.get_by_label("Live tail").check()
    with admin.client(key) as agent:
        answer = agent.post("/api/v1/contacts/search", json={})
    assert answer.status_code == 403
    live = page.locator(f'tr[data-id="{answer.headers["x-request-id"]}"]')
    expect(live).to_have_count(1)
    expect(live).to_contain_text("contacts.search")

    page.goto(admin.url + "/admin/usage?days=1")
    expect(page.get_by_role("heading", name="sdr")).to_be_visible()
    expect(page.get_by_role("img", name="Calls by sdr", exact=False)).to_be_visible()
    shot(page, "07-usage")

    page.goto(admin.url + "/admin/agents/sdr")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke agent").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked")
    with admin.client(key) as agent:
        assert agent.post("/api/v1/contacts", json=contact).status_code == 401
    page.goto(admin.url + "/admin/audit?agent=sdr")
    expect(page.locator("#log-rows")).to_contain_text("agents.revoke by admin (console)")
    expect(page.locator("#log-rows")).to_contain_text("added contacts.create")


def test_the_reference_guide_filters_and_shows_an_endpoints_detail(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(admin.url + "/reference")
    expect(page.locator("#shown-count")).to_have_text("80 of 80 endpoints")
    shot(page, "08-reference")
    page.get_by_label("Permission").select_option("master")
    expect(page.locator("#shown-count")).to_have_text("13 of 80 endpoints")
    page.get_by_label("Search").fill("opportunities")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#shown-count")).to_have_text("3 of 80 endpoints")
    row = page.locator("details#deals\\.update")
    row.locator("summary").click()
    expect(row.get_by_role("table")).to_contain_text("opportunity_id")
    expect(row).to_contain_text("master key required")
    shot(page, "09-reference-filtered-detail")
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        assert client.get("/reference/catalog.json").status_code == 200


def test_the_reference_guide_filters_by_risk_tag_and_marks_each_rows_origin(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(admin.url + "/reference")
    page.get_by_label("Risk tag").select_option("sends_email")
    expect(page.locator("#shown-count")).to_have_text("5 of 80 endpoints")
    send = page.locator("details#emails\\.send_now summary")
    expect(send).to_contain_text("Apollo's document")
    expect(send).to_contain_text("sends_email")
    expect(page.locator("details#sequences\\.add_contacts summary")).to_contain_text("seed")
    shot(page, "12-reference-sends-email")
    page.get_by_label("From").select_option("openapi")
    expect(page.locator("#shown-count")).to_have_text("4 of 80 endpoints")


def test_console_pages_fit_a_phone_screen(admin: Bollard, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        admin.agents.create("phone-agent", ["*:read"])
        sign_in(phone, admin, "/admin/agents/phone-agent")
        expect(phone.get_by_role("heading", name="phone-agent")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, width
        shot(phone, "10-phone-agent")
        phone.goto(admin.url + "/reference")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 391
        shot(phone, "11-phone-reference")
    finally:
        context.close()
