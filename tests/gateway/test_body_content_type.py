"""A body goes up declared as what Bollard read it as: JSON. Apollo (Rails) parses a body
by its Content-Type, so a JSON object sent as a form would be read as other parameters
than the ones Bollard checked, priced and matched rules against; and a held call sent
from its status URL (no agent headers) would go up undeclared, its arguments unread."""

from __future__ import annotations

from tests.approvals.conftest import APPROVER, approvals, enrolment, enrolments
from tests.harness import Bollard, add_rule

ENRICH = "/api/v1/people/match"
REVEAL = "has(args.reveal_phone_number) && args.reveal_phone_number == true"
SMUGGLED = b'{"email":"x@example.com","first_name":"&reveal_phone_number=true&"}'


def test_a_json_body_declared_as_a_form_goes_up_as_json(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people.enrich", when=REVEAL)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with bollard.client(key, **form) as client:
        reply = client.post(ENRICH, content=SMUGGLED)
    assert reply.status_code == 200, reply.text
    sent = [c.content_type for c in bollard.sandbox.calls if c.action_id == "people.enrich"]
    assert sent == ["application/json"]


def test_an_approved_call_sent_from_its_status_url_goes_up_as_json(bollard: Bollard) -> None:
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(bollard)
    with bollard.client(key) as client:
        held = client.post(enrol.path, json=enrol.body())
        assert held.status_code == 202, held.text
        approvals(bollard).approve(held.json()["bollard"]["approval_id"], APPROVER)
        sent = client.get(held.json()["bollard"]["status_url"])
    assert sent.status_code == 200, sent.text
    assert enrolments(bollard) == 1
    up = [c for c in bollard.sandbox.calls if c.action_id == "sequences.add_contacts"]
    assert up[0].content_type == "application/json"
