"""A held call through the REST door: held, approved, read; denied; expired; changed
arguments; replay from the record. SQLite and PostgreSQL; the sandbox counts sends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bollard.approvals import ApprovalError
from bollard.policy import Rule
from tests.approvals.conftest import (
    APPROVER,
    Bollard,
    Clock,
    Enrolment,
    StartBollard,
    add_rule,
    approvals,
    changes,
    enrolment,
    enrolments,
)


def _held(bollard: Bollard, key: str, enrol: Enrolment, which: int = 0) -> dict[str, Any]:
    with bollard.client(key) as client:
        reply = client.post(enrol.path, json=enrol.body(which))
    assert reply.status_code == 202, reply.text
    info: dict[str, Any] = reply.json()["bollard"]
    assert reply.headers["location"] == info["status_url"]
    return info


def _poll(bollard: Bollard, key: str, info: dict[str, Any]) -> httpx.Response:
    with bollard.client(key) as client:
        return client.get(info["status_url"])


def _setup(
    start_bollard: StartBollard, database_url: str, clock: Clock | None = None
) -> tuple[Bollard, str, Enrolment]:
    bollard = start_bollard(database_url, clock=clock)
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    return bollard, key, enrolment(bollard)


def test_a_held_call_is_sent_once_approved_and_the_agent_reads_apollos_answer(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard, key, enrol = _setup(start_bollard, database_url)
    info = _held(bollard, key, enrol)
    assert info["status"] == "pending"
    assert info["approval_id"].startswith("apr_")
    assert info["reason"] == "a person checks"
    pending = _poll(bollard, key, info)
    assert pending.status_code == 202
    assert pending.json()["bollard"]["status"] == "pending"
    assert enrolments(bollard) == 0

    approvals(bollard).approve(info["approval_id"], APPROVER, "checked the list")
    answer = _poll(bollard, key, info)
    assert answer.status_code == 200, answer.text
    assert answer.json()["skipped_contact_ids"] == {}
    assert enrolments(bollard) == 1
    again = _poll(bollard, key, info)  # answered from the record: nothing sent again
    assert (again.status_code, again.json()) == (200, answer.json())
    with bollard.client(key) as client:  # the same call sent again: the recorded answer
        replay = client.post(enrol.path, json=enrol.body())
    assert (replay.status_code, replay.json()) == (200, answer.json())
    assert enrolments(bollard) == 1


def test_a_denied_call_sends_nothing_and_the_agent_reads_the_reason(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard, key, enrol = _setup(start_bollard, database_url)
    info = _held(bollard, key, enrol)
    approvals(bollard).deny(info["approval_id"], APPROVER, "not this sequence")
    denied = _poll(bollard, key, info)
    assert denied.status_code == 403
    assert denied.json()["error_code"] == "APPROVAL_DENIED"
    assert denied.json()["error"] == "denied by alice@example.com: not this sequence"
    assert enrolments(bollard) == 0


def test_an_expired_call_sends_nothing_and_can_no_longer_be_approved(
    database_url: str, start_bollard: StartBollard
) -> None:
    clock = Clock()
    bollard = start_bollard(database_url, clock=clock)
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    rule = Rule(0, "sdr", "sequences.add_contacts", "approve", "", hold_seconds=3600)
    changes(bollard).add_rule(APPROVER, rule)
    enrol = enrolment(bollard)
    info = _held(bollard, key, enrol)
    clock.advance(59 * 60)
    assert _poll(bollard, key, info).status_code == 202
    clock.advance(2 * 60)
    expired = _poll(bollard, key, info)
    assert expired.status_code == 410
    assert expired.json()["error_code"] == "APPROVAL_EXPIRED"
    with pytest.raises(ApprovalError, match="is expired, not pending"):
        approvals(bollard).approve(info["approval_id"], APPROVER)
    assert enrolments(bollard) == 0


def test_changed_arguments_are_a_new_call_and_another_agent_cannot_read_the_approval(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard, key, enrol = _setup(start_bollard, database_url)
    _, other = bollard.agents.create("other", ["sequences:*"])
    first = _held(bollard, key, enrol, 0)
    approvals(bollard).approve(first["approval_id"], APPROVER)
    changed = _held(bollard, key, enrol, 1)  # another contact: held, not sent
    assert changed["approval_id"] != first["approval_id"]
    assert enrolments(bollard) == 0
    stranger = _poll(bollard, other, first)
    assert stranger.status_code == 404
    assert stranger.json()["error_code"] == "APPROVAL_NOT_FOUND"
    assert enrolments(bollard) == 0
    sent = _poll(bollard, key, first)
    assert sent.status_code == 200
    assert enrolments(bollard) == 1
    assert _poll(bollard, key, changed).json()["bollard"]["status"] == "pending"
