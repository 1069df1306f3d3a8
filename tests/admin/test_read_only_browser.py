"""A viewer's and an approver's console in a real browser (Debian's Chromium via
Playwright): an agent's page, the agents list and the usage page show no form their
role could not send (grants, rules, limits, key, create), only what is; an admin still
sees every form."""

from __future__ import annotations

from typing import Any

import pytest

from bollard.admins import Role
from tests.admin.test_approvals_browser import sign_in_as
from tests.admin.test_browser import browser, page, shot
from tests.admin.test_roles import make_admin
from tests.harness import ADMIN_TOKEN, Bollard, add_rule

__all__ = ["browser", "page"]
pytestmark = pytest.mark.browser


def forms_in_main(page: Any) -> list[str]:
    """The actions of the forms in the page's main part (sign-out is in the header)."""
    found: list[str] = page.locator("main form").evaluate_all(
        "forms => forms.map(f => f.getAttribute('action'))"
    )
    return found


def open_as(browser: Any, bollard: Bollard, token: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    sign_in_as(tab, bollard, token)
    tab.wait_for_url("**/admin/approvals")
    return tab


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER])
def test_a_viewer_or_approver_reads_an_agent_page_without_forms_they_cannot_send(
    admin: Bollard, browser: Any, role: Role
) -> None:
    from playwright.sync_api import expect

    token = make_admin(admin, "vera", role)
    admin.agents.create("sdr", ["people:read", "contacts:*"])
    add_rule(admin, "sdr", "people.search", "deny", "args.per_page > 50", reason="keep it small")

    tab = open_as(browser, admin, token)
    tab.goto(f"{admin.url}/admin/agents/sdr")
    main = tab.locator("main")
    expect(main).to_contain_text("this page is read-only")
    expect(main).to_contain_text(f"signed in as {role.value}")
    assert forms_in_main(tab) == []
    assert tab.locator("main input, main select, main textarea, main button").count() == 0
    text = main.inner_text()
    # What the agent has is all still there, in words.
    assert "granted: people:read" in text
    assert "granted: contacts:*" in text
    assert "#1 people.search deny when args.per_page > 50: keep it small" in text
    assert "sdr's unknown parameters are refused." in text
    hidden = ("Save grants", "Add a rule", "Edit rule", "Set or clear limits", "Rotate key", "Save")
    for gone in hidden:
        assert gone not in text
    shot(tab, f"read-only-agent-{role.value}")

    tab.goto(f"{admin.url}/admin/agents")
    expect(tab.locator("main")).to_contain_text("sdr")
    assert forms_in_main(tab) == []
    tab.goto(f"{admin.url}/admin/usage")
    expect(tab.locator("main")).to_contain_text("Limits and credit budgets")
    assert forms_in_main(tab) == []
    tab.context.close()


def test_an_admin_still_sees_every_form_on_an_agent_page(admin: Bollard, browser: Any) -> None:
    admin.agents.create("sdr", ["people:read"])
    add_rule(admin, "sdr", "people.search", "deny", "args.per_page > 50")
    tab = open_as(browser, admin, ADMIN_TOKEN)
    tab.goto(f"{admin.url}/admin/agents/sdr")
    assert sorted(forms_in_main(tab)) == sorted(
        f"/admin/agents/sdr/{tail}"
        for tail in (
            "grants",
            "rules/1",
            "rules/1/remove",
            "rules",
            "limits",
            "settings",
            "rotate",
            "revoke",
        )
    )
    assert "read-only" not in tab.locator("main").inner_text()
    tab.context.close()
