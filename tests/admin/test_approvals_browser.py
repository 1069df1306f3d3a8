"""The approvals page in a real browser (Debian's Chromium via Playwright): a call held
while the page is open appears without a reload, an approver approves it and the agent
reads Apollo's answer; a viewer sees no approve button and its POST is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bollard.admins import Role
from bollard.changes import Actor, AdminChanges
from tests.admin.test_browser import browser, page, shot
from tests.approvals.conftest import add_rule, enrolment, enrolments
from tests.harness import Bollard

__all__ = ["browser", "page"]
pytestmark = pytest.mark.browser
LEAD = Actor("lead@example.com", "cli")


def sign_in_as(page: Any, bollard: Bollard, token: str) -> None:
    page.goto(bollard.url + "/admin/approvals")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_an_approver_sees_a_held_call_appear_approves_it_and_the_agent_reads_the_answer(
    admin: Bollard, page: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    changes = AdminChanges(admin.engine, admin.agents, admin.gateway.audit.checkpointer)
    abe = changes.create_admin(LEAD, "abe", Role.APPROVER)[1]
    vera = changes.create_admin(LEAD, "vera", Role.VIEWER)[1]
    _, key = admin.agents.create("sdr", ["sequences:*"])
    add_rule(admin, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(admin)

    sign_in_as(page, admin, abe)
    expect(page.get_by_text("No calls are waiting for a decision.")).to_be_visible()
    expect(page.get_by_text("Signed in as abe (approver)")).to_be_visible()
    with admin.client(key) as agent:
        held = agent.post(enrol.path, json=enrol.body(0))
    assert held.status_code == 202, held.text
    approval = held.json()["bollard"]
    row = page.locator(f'tr[data-id="{approval["approval_id"]}"]')
    expect(row).to_be_visible()  # without a reload: the page polls for new rows
    expect(page.get_by_text("No calls are waiting for a decision.")).to_have_count(0)
    expect(row).to_contain_text("sdr")
    expect(row).to_contain_text("sequences.add_contacts")
    expect(row).to_contain_text(enrol.contacts[0])
    expect(row).to_contain_text("a person checks")
    expect(row).to_contain_text("23 hours")
    shot(page, "approvals-01-held-call-appears")

    row.get_by_label("Note (optional)").fill("checked the contact")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved sdr's sequences.add_contacts")
    expect(page.get_by_text("No calls are waiting for a decision.")).to_be_visible()
    shot(page, "approvals-02-approved")
    page.goto(f"{admin.url}/admin/approvals/{approval['approval_id']}")  # the webhook's link
    expect(page.locator("tr[data-id]")).to_contain_text("approved")
    expect(page.locator("tr[data-id]")).to_contain_text("by abe: checked the contact")
    assert enrolments(admin) == 0  # sent when the agent asks, not when approved

    with admin.client(key) as agent:
        answer = agent.get(approval["status_url"])
    assert answer.status_code == 200, answer.text
    assert enrol.contacts[0] in answer.text
    assert enrolments(admin) == 1
    decided = [r for r in admin.records() if r["action"] == "approvals.approve"]
    assert [json.loads(r["data"])["by"] for r in decided] == ["abe"]

    # A viewer sees the next held call, without a button, and cannot decide it.
    with admin.client(key) as agent:
        second = agent.post(enrol.path, json=enrol.body(1)).json()["bollard"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    viewer = context.new_page()
    viewer.set_default_timeout(10_000)
    sign_in_as(viewer, admin, vera)
    row = viewer.locator(f'tr[data-id="{second["approval_id"]}"]')
    expect(row).to_contain_text("An approver decides.")
    expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
    shot(viewer, "approvals-03-viewer")
    csrf = viewer.locator('meta[name="csrf-token"]').get_attribute("content")
    forged = viewer.request.post(
        f"{admin.url}/admin/approvals/{second['approval_id']}/approve",
        form={"csrf": csrf, "note": "sneaky"},
    )
    assert forged.status == 403
    assert "vera signed in as viewer; this needs the approver role" in forged.text()
    context.close()
    with admin.client(key) as agent:
        assert agent.get(second["status_url"]).json()["bollard"]["status"] == "pending"
    assert enrolments(admin) == 1
