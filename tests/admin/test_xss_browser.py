"""Agent-controlled text (a held call's arguments) and rule text (reasons, conditions) on
the console's pages in a real browser: shown as text, never run. A regression guard
(passes on main): the pages escape what they show and the CSP allows only the console's
own script."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.test_approvals_browser import sign_in_as
from tests.admin.test_browser import browser, page
from tests.approvals.conftest import add_rule, enrolment
from tests.harness import ADMIN_TOKEN, Bollard

__all__ = ["browser", "page"]
pytestmark = pytest.mark.browser
PAYLOAD = (
    '</pre><img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
)


def test_markup_an_agent_or_a_rule_carries_is_shown_as_text_on_the_console(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    _, key = admin.agents.create("sdr", ["sequences:*", "people:read"])
    add_rule(admin, "sdr", "sequences.add_contacts", "approve", reason=PAYLOAD)
    add_rule(admin, "sdr", "people.search", "deny", f"args.q_keywords == '''{PAYLOAD}'''",
             reason=PAYLOAD)  # fmt: skip
    enrol = enrolment(admin)
    dialogs: list[str] = []

    def dialog(opened: Any) -> None:
        dialogs.append(opened.message)
        opened.dismiss()

    page.on("dialog", dialog)
    sign_in_as(page, admin, ADMIN_TOKEN)
    expect(page.get_by_text("No calls are waiting for a decision.")).to_be_visible()
    with admin.client(key) as agent:
        body = {**enrol.body(0), "contact_ids": [PAYLOAD]}
        held = agent.post(enrol.path, json=body)
    assert held.status_code == 202, held.text
    approval = held.json()["bollard"]["approval_id"]
    row = page.locator(f'tr[data-id="{approval}"]')
    expect(row).to_contain_text(PAYLOAD)  # added by the page's poll, as text
    for path in ("/admin/approvals", f"/admin/approvals/{approval}", "/admin/agents/sdr"):
        page.goto(admin.url + path)
        expect(page.locator("main")).to_contain_text(PAYLOAD)
        assert page.locator("main img, main script").count() == 0, path
        assert page.title() != "pwned", path
    assert dialogs == []
