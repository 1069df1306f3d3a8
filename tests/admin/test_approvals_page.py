"""The approvals page's forms opened as GET: after a session ends mid-decision, signing
in again lands on the held call's page (not a bare 405), and nothing is decided."""

from __future__ import annotations

import httpx
import pytest

from tests.approvals.conftest import add_rule, enrolment
from tests.harness import ADMIN_TOKEN, CSRF_INPUT, Bollard


@pytest.mark.parametrize("verb", ["approve", "deny"])
def test_a_decision_posted_without_a_session_leads_back_to_the_call_after_signing_in(
    admin: Bollard, verb: str
) -> None:
    _, key = admin.agents.create("sdr", ["sequences:*"])
    add_rule(admin, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(admin)
    with admin.client(key) as agent:
        held = agent.post(enrol.path, json=enrol.body(0)).json()["bollard"]
    call = f"/admin/approvals/{held['approval_id']}"
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as browser:
        login = browser.post(f"{call}/{verb}", data={"note": "ok", "reason": "no"})
        assert login.url.path == "/admin/login"
        csrf = CSRF_INPUT.search(login.text)
        assert csrf is not None
        signed = browser.post(
            "/admin/login",
            data={"csrf": csrf[1], "token": ADMIN_TOKEN, "next": login.url.params["next"]},
        )
    assert (signed.status_code, signed.url.path) == (200, call)
    assert ">Approve</button>" in signed.text  # the call, still to decide
    with admin.client(key) as agent:
        assert agent.get(held["status_url"]).json()["bollard"]["status"] == "pending"
