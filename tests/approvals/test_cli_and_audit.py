"""`bollard approvals` through the real CLI, and what the audit log shows: the held call,
the decision with the approver's name, the execution with its outcome; verify passes."""

from __future__ import annotations

import json

from tests.approvals.conftest import StartBollard, add_rule, enrolment, enrolments
from tests.harness import cli as _cli


def test_approved_through_the_cli_sent_once_and_every_step_is_on_the_verified_record(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(bollard)
    with bollard.client(key) as client:
        held = client.post(enrol.path, json=enrol.body()).json()["bollard"]
        other = client.post(enrol.path, json=enrol.body(1)).json()["bollard"]
    listed = _cli(bollard, "approvals", "list", "--status", "pending", "--json")
    assert listed.exit_code == 0, listed.output
    pending = json.loads(listed.output)
    assert [p["id"] for p in pending] == [other["approval_id"], held["approval_id"]]
    assert pending[1]["args"]["contact_ids"] == [enrol.contacts[0]]
    assert pending[1]["credits"]["worst_case"] == 0
    shown = _cli(bollard, "approvals", "show", held["approval_id"])
    assert "a person checks" in shown.output
    assert enrol.contacts[0] in shown.output

    approved = _cli(
        bollard, "approvals", "approve", held["approval_id"], "--note", "ok", "--actor", "bob"
    )
    assert approved.exit_code == 0, approved.output
    no_reason = _cli(bollard, "approvals", "deny", other["approval_id"])
    assert no_reason.exit_code != 0
    assert "--reason" in no_reason.output
    denied = _cli(bollard, "approvals", "deny", other["approval_id"], "--reason", "not her")
    assert denied.exit_code == 0, denied.output
    twice = _cli(bollard, "approvals", "approve", other["approval_id"])
    assert "is denied, not pending" in twice.output
    with bollard.client(key) as client:
        assert client.get(held["status_url"]).status_code == 200
        assert client.get(other["status_url"]).status_code == 403
    assert enrolments(bollard) == 1

    records = bollard.records()
    held_rec = [r for r in records if r["decision"] == "held"]
    assert [json.loads(r["data"])["approval"] for r in held_rec] == [
        held["approval_id"],
        other["approval_id"],
    ]
    decisions = [json.loads(r["data"]) for r in records if r["kind"] == "admin"]
    approve = next(d for d in decisions if d["change"] == "approvals.approve")
    assert (approve["by"], approve["note"], approve["approval"]) == (
        "bob",
        "ok",
        held["approval_id"],
    )
    deny = next(d for d in decisions if d["change"] == "approvals.deny")
    assert deny["denial"] == "not her"
    sent = [
        r for r in records if r["kind"] == "request" and r["decision"] == "allow"
        and json.loads(r["data"]).get("approval") == held["approval_id"]
    ]  # fmt: skip
    assert len(sent) == 1
    outcome = [
        r for r in records if r["request_id"] == sent[0]["request_id"] and r["kind"] == "outcome"
    ]
    assert [(o["outcome"], o["status"]) for o in outcome] == [("ok", 200)]
    assert enrol.contacts[0] not in json.dumps([r["data"] for r in outcome])
    verified = _cli(bollard, "audit", "verify")
    assert verified.exit_code == 0, verified.output
