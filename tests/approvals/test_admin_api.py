"""Held calls through the admin API: listed, approved and denied with the admin token,
each decision recorded with who made it."""

from __future__ import annotations

import json

from tests.approvals.conftest import StartBollard, add_rule, enrolment, enrolments
from tests.harness import ADMIN_TOKEN


def test_the_admin_api_lists_approves_and_denies_held_calls(start_bollard: StartBollard) -> None:
    bollard = start_bollard(admin_token=ADMIN_TOKEN)
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve")
    enrol = enrolment(bollard)
    with bollard.client(key) as agent:
        one = agent.post(enrol.path, json=enrol.body(0)).json()["bollard"]["approval_id"]
        two = agent.post(enrol.path, json=enrol.body(1)).json()["bollard"]["approval_id"]
    with bollard.client(Authorization=f"Bearer {ADMIN_TOKEN}") as api:
        listed = api.get("/admin/api/approvals", params={"status": "pending"}).json()
        assert [a["id"] for a in listed["approvals"]] == [two, one]
        assert api.get(f"/admin/api/approvals/{one}").json()["approval"]["agent"] == "sdr"
        approved = api.post(f"/admin/api/approvals/{one}/approve", json={"note": "fine"})
        assert approved.json()["approval"]["status"] == "approved", approved.text
        no_reason = api.post(f"/admin/api/approvals/{two}/deny", json={})
        assert no_reason.status_code == 422
        assert api.post(f"/admin/api/approvals/{two}/deny", json={"reason": "no"}).is_success
        again = api.post(f"/admin/api/approvals/{two}/approve")
        assert (again.status_code, "is denied, not pending" in again.text) == (422, True)
        assert api.get("/admin/api/approvals/apr_nope").status_code == 404
    with bollard.client(key) as agent:
        assert agent.get(f"/bollard/v1/approvals/{one}").status_code == 200
    assert enrolments(bollard) == 1
    admin = [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "admin"]
    decided = [(d["change"], d["by"], d["via"]) for d in admin if "approval" in d]
    assert decided == [
        ("approvals.approve", "admin", "api"),
        ("approvals.deny", "admin", "api"),
    ]
