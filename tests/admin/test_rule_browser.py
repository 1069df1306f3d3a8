"""An agent's rules in the console, in a real browser: a bad condition is refused inside
the form (nothing stored), a good rule is added and is in force, then removed; and the
same forms through plain HTTP refuse a post without the session's CSRF token."""

from __future__ import annotations

import json
from typing import Any

from tests.admin.test_browser import browser, page, shot, sign_in
from tests.harness import Bollard, Console

__all__ = ["browser", "page"]
SEARCH = "/api/v1/mixed_people/api_search"


def _rules(admin: Bollard) -> list[dict[str, Any]]:
    return [
        json.loads(r["data"])
        for r in admin.records()
        if r["kind"] == "admin" and r["action"].startswith("rules.")
    ]


def test_an_admin_adds_a_rule_after_a_refused_condition_then_removes_it(
    admin: Bollard, page: Any
) -> None:
    from playwright.sync_api import expect

    _, key = admin.agents.create("research", ["people:read"])
    sign_in(page, admin, "/admin/agents/research")
    expect(page.locator("#no-rules")).to_be_visible()
    page.get_by_text("Add a rule for research").click()
    form = page.locator("#policy-rules")
    expect(form.get_by_label("Expires after")).to_have_accessible_description(
        "approve rules only, e.g. 8h: how long a held call waits for a person "
        "(1 minute to 30 days; blank: 24h)"
    )
    form.get_by_label("Selector").fill("people.search")
    form.get_by_label("Condition (CEL)").fill("args.per_pag > 25")
    form.get_by_label("Reason").fill("25 a page at most")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-error")).to_contain_text(
        "args.per_pag is not a parameter of people.search; did you mean per_page"
    )
    expect(form.get_by_label("Condition (CEL)")).to_have_value("args.per_pag > 25")
    shot(page, "20-rule-refused-in-form")
    assert _rules(admin) == []

    form.get_by_label("Condition (CEL)").fill("has(args.per_page) && args.per_page > 25")
    form.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_contain_text("Added rule #")
    expect(page.locator("#agent-rules")).to_contain_text("25 a page at most")
    shot(page, "21-rule-added")
    with admin.client(key) as agent:
        assert agent.post(SEARCH, json={"per_page": 50}).json()["error"] == "25 a page at most"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#agent-rules summary").first.click()
    page.get_by_role("button", name="Remove rule #").click()
    expect(page.get_by_role("status")).to_contain_text("Removed rule #")
    expect(page.locator("#no-rules")).to_be_visible()
    shot(page, "22-rule-removed")
    with admin.client(key) as agent:
        assert agent.post(SEARCH, json={"per_page": 50}).status_code == 200
    recorded = _rules(admin)
    assert [r["change"] for r in recorded] == ["rules.add", "rules.remove"]
    assert {(r["by"], r["via"]) for r in recorded} == {("admin", "console")}


def test_the_rule_forms_edit_in_place_and_refuse_a_post_without_the_csrf_token(
    console: Console,
) -> None:
    admin, client = console.bollard, console.client
    admin.agents.create("research", ["people:read"])
    form = {"csrf": console.csrf, "selector": "people.search", "effect": "deny", "when": ""}
    added = client.post("/admin/agents/research/rules", data={**form, "reason": "no"})
    assert "Added rule #" in added.text
    rule_id = _rules(admin)[-1]["after"]["id"]
    bad = client.post(f"/admin/agents/research/rules/{rule_id}", data={**form, "effect": "hide"})
    assert bad.status_code == 422
    assert "a hide rule needs --fields" in bad.text
    edited = client.post(
        f"/admin/agents/research/rules/{rule_id}",
        data={**form, "when": "args.per_page > 10", "shadow": "1", "reason": "watch"},
    )
    assert f"Saved rule #{rule_id}" in edited.text
    assert "(shadow): watch" in edited.text
    forged = client.post(f"/admin/agents/research/rules/{rule_id}/remove", data={})
    assert forged.status_code == 403
    assert [r["change"] for r in _rules(admin)] == ["rules.add", "rules.edit"]


def test_an_approve_rule_gets_an_expiry_in_the_form_refused_kept_and_listed(
    console: Console,
) -> None:
    admin, client = console.bollard, console.client
    admin.agents.create("outreach", ["sequences:write"])
    page = client.get("/admin/agents/outreach")
    assert 'name="expires_after"' in page.text
    assert "approve rules only, e.g. 8h" in page.text
    base = "/admin/agents/outreach/rules"
    form = {"csrf": console.csrf, "selector": "sequences.add_contacts", "effect": "approve"}
    for typed, said in {
        "8 hours": "Expires after: duration &#39;8 hours&#39; is not understood",
        "45d": "Expires after must be from 1 minute to 30 days, e.g. 24h",
    }.items():
        bad = client.post(base, data={**form, "expires_after": typed})
        assert bad.status_code == 422
        assert said in bad.text
        assert f'value="{typed}"' in bad.text  # what was typed is kept in the form
    deny = client.post(base, data={**form, "effect": "deny", "expires_after": "8h"})
    assert "Expires after goes with the effect approve" in deny.text
    assert _rules(admin) == []

    added = client.post(base, data={**form, "expires_after": "8h"})
    assert "Added rule #" in added.text
    assert "held calls expire after 8h" in added.text
    rule_id = _rules(admin)[-1]["after"]["id"]
    assert _rules(admin)[-1]["after"]["expires_after"] == 8 * 3600
    assert 'name="expires_after" value="8h"' in added.text  # the edit form keeps it
    # An expiry of whole seconds (from a policy file) is pre-filled as such, and the
    # form takes back what it pre-filled.
    seconds = client.post(f"{base}/{rule_id}", data={**form, "expires_after": "90s"})
    assert 'name="expires_after" value="90s"' in seconds.text
    again = client.post(f"{base}/{rule_id}", data={**form, "expires_after": "90s"})
    assert f"Saved rule #{rule_id}" in again.text
    edited = client.post(f"{base}/{rule_id}", data={**form, "expires_after": " "})
    assert f"Saved rule #{rule_id}" in edited.text
    assert "held calls expire after 24h (default)" in edited.text
    assert [r["after"]["expires_after"] for r in _rules(admin)] == [8 * 3600, 90, 90, None]
